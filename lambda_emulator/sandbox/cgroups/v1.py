"""One cgroup v1 group per environment in each hierarchy it uses (Documentation/admin-guide/cgroup-v1/).

    <root>/memory/lambda-emulator-<pid>-<id>/            memory.limit_in_bytes (+ memsw), the group's peak
    <root>/memory/lambda-emulator-<pid>-<id>/<process>   that process's peak (memory.max_usage_in_bytes)
    <root>/cpuacct/lambda-emulator-<pid>-<id>/<process>  that process's CPU time (cpuacct.usage, ns)
    <root>/cpu/lambda-emulator-<pid>-<id>/               cpu.cfs_period_us, cpu.cfs_quota_us
    <root>/freezer/lambda-emulator-<pid>-<id>/           freezer.state

Limits and the freezer are hierarchical, so they cover the per-process children. Co-mounted hierarchies (e.g.
`cpu,cpuacct` with `cpu` and `cpuacct` as links to it) share one directory, created and removed once.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from lambda_emulator.sandbox.cgroups.fs import (
    CPU_PERIOD_US,
    CgroupError,
    CgroupFs,
    flat_keyed,
    quota_us,
    remove_tree,
    settle,
    settle_sync,
)

PER_PROCESS: Final = ("memory", "cpuacct")


class V1Groups:
    def __init__(self, root: Path, name: str, controllers: Sequence[str], fs: CgroupFs) -> None:
        self._groups = {c: (root / c).resolve() / name for c in controllers}
        self._fs = fs

    def _dirs(self) -> list[Path]:
        return list(dict.fromkeys(self._groups.values()))  # co-mounted controllers share one directory

    def create(self) -> None:
        for group in self._dirs():
            self._fs.mkdir(group)

    def join_targets(self, process: str) -> list[Path]:
        """Per-process children in memory and cpuacct (created now), the group itself elsewhere."""
        targets = []
        for controller, group in self._groups.items():
            if controller in PER_PROCESS:
                leaf = group / process
                if not self._fs.exists(leaf):
                    self._fs.mkdir(leaf)
                targets.append(leaf / "cgroup.procs")
            else:
                targets.append(group / "cgroup.procs")
        return list(dict.fromkeys(targets))

    # -- limits ------------------------------------------------------------------------------------------
    def set_memory_max(self, limit_bytes: int) -> None:
        group = self._groups["memory"]
        self._fs.write(group / "memory.limit_in_bytes", str(limit_bytes))
        if self._fs.exists(group / "memory.memsw.limit_in_bytes"):  # no swap, as Lambda: over the cap is an OOM
            self._fs.write(group / "memory.memsw.limit_in_bytes", str(limit_bytes))

    def set_cpu(self, vcpus: float | None) -> None:
        group = self._groups["cpu"]
        self._fs.write(group / "cpu.cfs_period_us", str(CPU_PERIOD_US))
        self._fs.write(group / "cpu.cfs_quota_us", "-1" if vcpus is None else str(quota_us(vcpus)))

    # -- freezer -----------------------------------------------------------------------------------------
    async def freeze(self) -> None:
        await self._set_freezer("FROZEN")

    async def thaw(self) -> None:
        await self._set_freezer("THAWED")

    async def _set_freezer(self, state: str) -> None:
        """FREEZING -> FROZEN takes the kernel a moment: wait for it, bounded."""
        path = self._groups["freezer"] / "freezer.state"
        self._fs.write(path, state)
        await settle(lambda: self._fs.read(path).strip() == state)

    # -- figures -----------------------------------------------------------------------------------------
    def cpu_ms(self, process: str) -> float | None:
        usage_ns = self._read_int(self._groups["cpuacct"] / process / "cpuacct.usage")
        return None if usage_ns is None else usage_ns / 1e6

    def peak_bytes(self, process: str) -> int | None:
        return self._read_int(self._groups["memory"] / process / "memory.max_usage_in_bytes")

    def group_peak_bytes(self) -> int | None:
        return self._read_int(self._groups["memory"] / "memory.max_usage_in_bytes")

    def oom_kills(self) -> int:
        """OOM kills in the environment: counted where the kill happened, the group or a process's own."""
        group = self._groups["memory"]
        return sum(self._oom_kill_count(path) for path in [group, *_children(group)])

    def _oom_kill_count(self, group: Path) -> int:
        with contextlib.suppress(CgroupError):
            return flat_keyed(self._fs.read(group / "memory.oom_control")).get("oom_kill", 0)
        return 0

    def _read_int(self, path: Path) -> int | None:
        try:
            return int(self._fs.read(path).strip())
        except (CgroupError, KeyError, ValueError):
            return None

    # -- teardown ----------------------------------------------------------------------------------------
    def destroy(self) -> None:
        """Thaw, SIGKILL whatever is still inside, wait until empty, remove children then groups."""
        existing = [group for group in self._dirs() if self._fs.exists(group)]
        if any(self._pids(group) for group in existing):
            if "freezer" in self._groups and self._groups["freezer"] in existing:
                with contextlib.suppress(CgroupError):  # a frozen v1 task cannot die until thawed
                    self._fs.write(self._groups["freezer"] / "freezer.state", "THAWED")
            _kill_until_empty(lambda: {pid for group in existing for pid in self._pids(group)})
        for group in existing:
            remove_tree(group, self._fs)

    def _pids(self, group: Path) -> set[int]:
        pids: set[int] = set()
        for path in [group, *_children(group)]:
            with contextlib.suppress(CgroupError):
                pids.update(int(line) for line in self._fs.read(path / "cgroup.procs").split())
        return pids


def _children(group: Path) -> list[Path]:
    with contextlib.suppress(OSError):
        return [p for p in group.iterdir() if p.is_dir()]
    return []


def _kill_until_empty(members: Callable[[], set[int]]) -> None:
    def killed_all() -> bool:
        for pid in members():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        return not members()

    settle_sync(killed_all)
