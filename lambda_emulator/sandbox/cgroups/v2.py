"""One cgroup v2 group per environment (Documentation/admin-guide/cgroup-v2.rst).

    <mount>/lambda-emulator-<pid>-<id>/          memory.max, memory.swap.max, cpu.max, cgroup.freeze
    <mount>/lambda-emulator-<pid>-<id>/<process>  one leaf per process: cpu.stat, memory.peak

Processes live in leaves only ("no internal processes"): the group's limits and freezer cover them all, and each
leaf gives that process's own CPU time and peak memory, even after it exited. `cpu.stat` exists in every group,
with or without the cpu controller, so on a hybrid host without v2 controllers the leaves still give CPU time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from lambda_emulator.sandbox.cgroups.fs import (
    CPU_PERIOD_US,
    CgroupError,
    CgroupFs,
    controller_set,
    flat_keyed,
    quota_us,
    remove_tree,
    settle,
    settle_sync,
)


class V2Group:
    def __init__(self, mount: Path, name: str, controllers: Sequence[str], fs: CgroupFs) -> None:
        self.path = mount / name
        self._mount = mount
        self._controllers = tuple(controllers)
        self._fs = fs
        self._leaves: list[Path] = []

    def create(self) -> None:
        """Enable the controllers from the mount down, then make the group; a leaf-to-be gets memory too."""
        self._enable(self._mount, self._controllers)
        self._fs.mkdir(self.path)
        self._enable(self.path, [c for c in self._controllers if c == "memory"])  # memory.peak per leaf

    def _enable(self, group: Path, controllers: Sequence[str]) -> None:
        enabled = controller_set(self._fs.read(group / "cgroup.subtree_control"))
        missing = [c for c in controllers if c not in enabled]
        if missing:
            self._fs.write(group / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))

    def has(self, file: str) -> bool:
        return self._fs.exists(self.path / file)

    def join_targets(self, process: str) -> list[Path]:
        """The leaf's cgroup.procs, created now; the child writes its pid there before exec."""
        leaf = self.path / process
        if not self._fs.exists(leaf):
            self._fs.mkdir(leaf)
            self._leaves.append(leaf)
        return [leaf / "cgroup.procs"]

    # -- limits ------------------------------------------------------------------------------------------
    def set_memory_max(self, limit_bytes: int) -> None:
        self._fs.write(self.path / "memory.max", str(limit_bytes))
        if self.has("memory.swap.max"):  # Lambda has no swap: over the cap is an OOM kill, not paging
            self._fs.write(self.path / "memory.swap.max", "0")

    def set_cpu(self, vcpus: float | None) -> None:
        """`cpu.max` is "$MAX $PERIOD"; "max" is no limit."""
        limit = "max" if vcpus is None else str(quota_us(vcpus))
        self._fs.write(self.path / "cpu.max", f"{limit} {CPU_PERIOD_US}")

    # -- freezer -----------------------------------------------------------------------------------------
    async def freeze(self) -> None:
        await self._set_frozen(1)

    async def thaw(self) -> None:
        await self._set_frozen(0)

    async def _set_frozen(self, state: int) -> None:
        """Write cgroup.freeze, then wait (bounded) until cgroup.events reports `frozen <state>`."""
        self._fs.write(self.path / "cgroup.freeze", str(state))
        await settle(lambda: self._event("frozen") == state)

    def _event(self, key: str) -> int | None:
        try:
            return flat_keyed(self._fs.read(self.path / "cgroup.events")).get(key)
        except CgroupError:
            return None

    # -- figures -----------------------------------------------------------------------------------------
    def cpu_ms(self, process: str) -> float | None:
        try:
            usage_us = flat_keyed(self._fs.read(self.path / process / "cpu.stat"))["usage_usec"]
        except (CgroupError, KeyError):
            return None
        return usage_us / 1000

    def peak_bytes(self, process: str) -> int | None:
        return self._read_int(self.path / process / "memory.peak")

    def group_peak_bytes(self) -> int | None:
        return self._read_int(self.path / "memory.peak")

    def oom_kills(self) -> int:
        """memory.events is hierarchical, unless mounted with memory_localevents: take the larger reading."""
        group = self._oom_kill_count(self.path)
        leaves = sum(self._oom_kill_count(leaf) for leaf in self._leaves)
        return max(group, leaves)

    def _oom_kill_count(self, group: Path) -> int:
        try:
            return flat_keyed(self._fs.read(group / "memory.events")).get("oom_kill", 0)
        except CgroupError:
            return 0

    def _read_int(self, path: Path) -> int | None:
        try:
            return int(self._fs.read(path).strip())
        except (CgroupError, ValueError):
            return None

    # -- teardown ----------------------------------------------------------------------------------------
    def destroy(self) -> None:
        """Kill whatever is still inside (cgroup.kill, 5.14+), wait until empty, remove leaves then the group."""
        if not self._fs.exists(self.path):
            return
        if self._event("populated") and self.has("cgroup.kill"):
            with contextlib.suppress(CgroupError):
                self._fs.write(self.path / "cgroup.kill", "1")
            settle_sync(lambda: not self._event("populated"))
        remove_tree(self.path, self._fs)
