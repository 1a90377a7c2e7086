"""The execution environment's limits, freeze/thaw and per-process measurements.

With cgroup v1 (root, controllers mounted under /sys/fs/cgroup): one group per environment carries the
memory cap (M MiB, processes share it), the CPU quota (M/1769 of a core) and the freezer; each process also
gets a child group in `memory` and `cpuacct`, so its peak memory and CPU time are read exactly, even after it
exited. Without cgroups: no limits, SIGSTOP/SIGCONT of each process group, figures from /proc while alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

CGROUP_ROOT: Final = Path("/sys/fs/cgroup")
CONTROLLERS: Final = ("memory", "cpu", "cpuacct", "freezer")
PER_PROCESS: Final = ("memory", "cpuacct")
CPU_PERIOD_US: Final = 100_000
MB_PER_VCPU: Final = 1769
_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcessFigures:
    cpu_ms: float
    peak_rss_bytes: int


def cgroups_available() -> bool:
    return os.geteuid() == 0 and all((CGROUP_ROOT / c / "cgroup.procs").exists() for c in CONTROLLERS)


class Sandbox:
    """Base: SIGSTOP freezing and /proc figures. `CgroupSandbox` adds limits and exact figures."""

    enforces_limits = False

    def __init__(self) -> None:
        self._pids: dict[str, int] = {}
        self._last: dict[str, ProcessFigures] = {}
        self.frozen = False

    def preexec(self, name: str) -> Callable[[], None] | None:
        return None

    def adopt(self, name: str, pid: int) -> None:
        self._pids[name] = pid

    async def freeze(self) -> None:
        for pid in self._pids.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGSTOP)
        self.frozen = True

    async def thaw(self) -> None:
        for pid in self._pids.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGCONT)
        self.frozen = False

    def figures(self, name: str) -> ProcessFigures:
        """CPU time and peak RSS of one process; the last figures read while it lived once it is gone."""
        pid = self._pids.get(name)
        if pid is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                self._last[name] = _proc_figures(pid)
        return self._last.get(name, ProcessFigures(0.0, 0))

    def max_memory_bytes(self) -> int:
        return sum(self.figures(name).peak_rss_bytes for name in self._pids)

    def oom_kills(self) -> int:
        return 0

    def destroy(self) -> None:
        self._pids.clear()


class CgroupSandbox(Sandbox):
    enforces_limits = True

    def __init__(self, memory_mb: int) -> None:
        super().__init__()
        self._name = f"lambda-emulator-{uuid.uuid4().hex[:12]}"
        for controller in CONTROLLERS:
            self._group(controller).mkdir(parents=True)
        _write(self._group("memory") / "memory.limit_in_bytes", memory_mb * 1024 * 1024)
        quota = max(1000, CPU_PERIOD_US * memory_mb // MB_PER_VCPU)
        _write(self._group("cpu") / "cpu.cfs_period_us", CPU_PERIOD_US)
        _write(self._group("cpu") / "cpu.cfs_quota_us", quota)

    def _group(self, controller: str, process: str = "") -> Path:
        path = CGROUP_ROOT / controller / self._name
        return path / process if process else path

    def preexec(self, name: str) -> Callable[[], None]:
        """Runs in the child between fork and exec: it joins its groups before any of its code runs."""
        for controller in PER_PROCESS:
            self._group(controller, name).mkdir(exist_ok=True)
        targets = [self._group(c, name) / "cgroup.procs" for c in PER_PROCESS]
        targets += [self._group(c) / "cgroup.procs" for c in CONTROLLERS if c not in PER_PROCESS]

        def join() -> None:
            pid = str(os.getpid())
            for target in targets:
                target.write_text(pid)

        return join

    async def freeze(self) -> None:
        await self._set_freezer("FROZEN")
        self.frozen = True

    async def thaw(self) -> None:
        await self._set_freezer("THAWED")
        self.frozen = False

    async def _set_freezer(self, state: str) -> None:
        path = self._group("freezer") / "freezer.state"
        path.write_text(state)
        for _ in range(1000):  # FREEZING -> FROZEN takes the kernel a moment; bounded, 1 s at most
            if path.read_text().strip() == state:
                return
            await asyncio.sleep(0.001)

    def figures(self, name: str) -> ProcessFigures:
        try:
            cpu_ns = int((self._group("cpuacct", name) / "cpuacct.usage").read_text())
            peak = int((self._group("memory", name) / "memory.max_usage_in_bytes").read_text())
        except (OSError, ValueError):
            return super().figures(name)
        return ProcessFigures(cpu_ns / 1e6, peak)

    def max_memory_bytes(self) -> int:
        return int((self._group("memory") / "memory.max_usage_in_bytes").read_text())

    def oom_kills(self) -> int:
        """OOM kills in the environment: counted where the kill happened, the group or a process's own."""
        group = self._group("memory")
        return sum(_oom_kill_count(path) for path in [group, *group.glob("*/")])

    def destroy(self) -> None:
        super().destroy()
        for controller in CONTROLLERS:
            group = self._group(controller)
            for child in sorted(group.glob("*/"), reverse=True):
                with contextlib.suppress(OSError):
                    child.rmdir()
            with contextlib.suppress(OSError):
                group.rmdir()


def create_sandbox(memory_mb: int, use_cgroups: bool | None = None) -> Sandbox:
    if use_cgroups is None:
        use_cgroups = cgroups_available()
    return CgroupSandbox(memory_mb) if use_cgroups else Sandbox()


def _oom_kill_count(group: Path) -> int:
    with contextlib.suppress(OSError):
        for line in (group / "memory.oom_control").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    return 0


def _write(path: Path, value: int) -> None:
    path.write_text(str(value))


def _proc_figures(pid: int) -> ProcessFigures:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    peak_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
    return ProcessFigures(cpu_ticks * 1000 / _CLOCK_TICKS, peak_kb * 1024)
