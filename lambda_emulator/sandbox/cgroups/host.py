"""What the host offers, and which mechanism the sandbox uses for each capability.

Three layouts exist under /sys/fs/cgroup: pure v1 (one directory per controller), pure v2 (the cgroup2 mount itself,
`cgroup.controllers` at the top) and hybrid (v1 controllers, plus cgroup2 at `unified/`, often without controllers
but with a working `cgroup.freeze`). A capability comes from whichever version has it:

| capability | first choice | then | else |
|---|---|---|---|
| memory cap (and peak, OOM kills) | v1 `memory` | v2 `memory` controller | none |
| CPU quota | v1 `cpu` | v2 `cpu` controller | none |
| freezer | v2 `cgroup.freeze` (any cgroup2 mount) | v1 `freezer` | SIGSTOP |
| CPU time per process | v1 `cpuacct` beside a v1 quota | v2 `cpu.stat` (needs no controller), v1 `cpuacct` | /proc |
| peak memory per process | where the cap is (v1, v2 `memory.peak`) | | /proc VmHWM |

v1 comes first for limits only because a controller lives in one hierarchy: a host that mounts `memory` as v1 has
no v2 memory controller. The v2 freezer comes first because it needs no controller and stops tasks in a killable
state (the v1 freezer is legacy: cgroup-v1/freezer-subsystem.rst).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from lambda_emulator.sandbox.cgroups.fs import CgroupError, CgroupFs, controller_set

CGROUP_ROOT: Final = Path("/sys/fs/cgroup")
V1_CONTROLLERS: Final = ("memory", "cpu", "cpuacct", "freezer")
LIMIT_NEEDS: Final = (
    "a memory and a cpu controller (cgroup v1, or v2 with memory+cpu in cgroup.subtree_control) and root"
)


class Via(StrEnum):
    """The mechanism behind one capability."""

    V1 = "cgroup v1"
    V2 = "cgroup v2"
    SIGSTOP = "SIGSTOP"
    PROC = "/proc"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Host:
    """The cgroup hierarchies mounted under `root` (read from the layout, so a fake tree works as well)."""

    root: Path
    v1: frozenset[str]
    """v1 controllers among memory, cpu, cpuacct, freezer, each mounted at root/<name>."""
    v2: Path | None
    """The cgroup2 mount: `root` itself (pure v2) or root/unified (hybrid); None without one."""
    v2_controllers: frozenset[str]
    """Controllers the cgroup2 mount can enable for its children (its cgroup.controllers)."""

    def without(self, version: Via) -> Host:
        """The host as if `version` were absent (after creating a group there failed)."""
        if version is Via.V1:
            return dataclasses.replace(self, v1=frozenset())
        return dataclasses.replace(self, v2=None, v2_controllers=frozenset())

    def describe(self) -> str:
        """E.g. "/sys/fs/cgroup has cgroup v1 cpu+cpuacct+freezer+memory and cgroup v2 (unified/) with hugetlb"."""
        v1 = f"cgroup v1 {'+'.join(sorted(self.v1))}" if self.v1 else "no cgroup v1 controller"
        v2 = "no cgroup v2 mount"
        if self.v2 is not None:
            where = "" if self.v2 == self.root else f" ({self.v2.relative_to(self.root)}/)"
            v2 = f"cgroup v2{where} with " + ("+".join(sorted(self.v2_controllers)) or "no controllers")
        return f"{self.root} has {v1} and {v2}"


def probe(root: Path = CGROUP_ROOT, fs: CgroupFs | None = None) -> Host:
    fs = fs or CgroupFs()
    v2 = next((p for p in (root, root / "unified") if fs.exists(p / "cgroup.controllers")), None)
    v1 = frozenset(c for c in V1_CONTROLLERS if _is_v1_mount(root / c, fs))
    available: frozenset[str] = frozenset()
    if v2 is not None:
        try:
            available = controller_set(fs.read(v2 / "cgroup.controllers"))
        except CgroupError:
            available = frozenset()
    return Host(root, v1, v2, available)


def _is_v1_mount(path: Path, fs: CgroupFs) -> bool:
    return fs.exists(path / "cgroup.procs") and not fs.exists(path / "cgroup.controllers")


@dataclass(frozen=True, slots=True)
class Plan:
    """The mechanism per capability, and why anything fell back."""

    memory: Via
    cpu: Via
    freezer: Via
    cpu_time: Via
    memory_peak: Via
    notes: tuple[str, ...] = ()

    @property
    def limits_enforced(self) -> bool:
        return self.memory is not Via.NONE and self.cpu is not Via.NONE

    def v1_controllers(self) -> tuple[str, ...]:
        wanted = {
            "memory": Via.V1 in (self.memory, self.memory_peak),
            "cpu": self.cpu is Via.V1,
            "cpuacct": self.cpu_time is Via.V1,
            "freezer": self.freezer is Via.V1,
        }
        return tuple(c for c in V1_CONTROLLERS if wanted[c])

    def v2_controllers(self) -> tuple[str, ...]:
        return tuple(c for c, via in (("memory", self.memory), ("cpu", self.cpu)) if via is Via.V2)

    @property
    def uses_v2(self) -> bool:
        return Via.V2 in (self.memory, self.cpu, self.freezer, self.cpu_time, self.memory_peak)

    def with_note(self, note: str, **changes: Via) -> Plan:
        return dataclasses.replace(self, notes=(*self.notes, note), **changes)

    def describe(self) -> str:
        """One line: what each capability uses."""
        parts = [
            f"memory cap {self.memory}",
            f"CPU quota {self.cpu}",
            f"freezer {self.freezer}",
            f"CPU time {self.cpu_time}",
            f"peak memory {self.memory_peak}",
        ]
        return "sandbox: " + ", ".join(parts) + "".join(f"; {note}" for note in self.notes)

    def no_limits_line(self) -> str | None:
        """The one line to print when the memory cap or the CPU quota is missing, else None."""
        if self.limits_enforced:
            return None
        lacking = (("no memory cap", self.memory), ("no CPU quota", self.cpu))
        missing = [name for name, via in lacking if via is Via.NONE]
        why = "; ".join(self.notes) or "no usable controller"
        return (
            f"lambda_emulator: NO LIMITS ({', '.join(missing)}): {why}. Every record is marked "
            f'"limits": {{"enforced": false}}. Limits need {LIMIT_NEEDS}.'
        )


OFF: Final = Plan(Via.NONE, Via.NONE, Via.SIGSTOP, Via.PROC, Via.PROC, ("cgroups off (use_cgroups=False)",))


def choose(host: Host, notes: tuple[str, ...] = ()) -> Plan:
    """The plan for `host` before any group exists; `refine` adjusts it to the files the kernel then shows."""
    v2_has = host.v2_controllers if host.v2 is not None else frozenset()
    memory = Via.V1 if "memory" in host.v1 else Via.V2 if "memory" in v2_has else Via.NONE
    cpu = Via.V1 if "cpu" in host.v1 else Via.V2 if "cpu" in v2_has else Via.NONE
    freezer = Via.V2 if host.v2 is not None else Via.V1 if "freezer" in host.v1 else Via.SIGSTOP
    cpu_time = _cpu_time(host, cpu)
    memory_peak = memory if memory is not Via.NONE else Via.PROC
    plan = Plan(memory, cpu, freezer, cpu_time, memory_peak, notes)
    if not plan.limits_enforced and not notes:
        plan = plan.with_note(host.describe())
    return plan


def _cpu_time(host: Host, cpu: Via) -> Via:
    if cpu is Via.V1 and "cpuacct" in host.v1:
        return Via.V1
    if host.v2 is not None:  # cpu.stat exists in every cgroup2 group, with or without the cpu controller
        return Via.V2
    return Via.V1 if "cpuacct" in host.v1 else Via.PROC


def refine(plan: Plan, host: Host, has_freeze: bool, has_memory_peak: bool) -> Plan:
    """Fall back where the created v2 group lacks a file: cgroup.freeze (kernel < 5.2), memory.peak (< 5.19)."""
    if plan.freezer is Via.V2 and not has_freeze:
        instead = Via.V1 if "freezer" in host.v1 else Via.SIGSTOP
        plan = plan.with_note(f"cgroup.freeze missing (kernel < 5.2): freezer {instead}", freezer=instead)
    if plan.memory_peak is Via.V2 and not has_memory_peak:
        plan = plan.with_note("memory.peak missing (kernel < 5.19): peaks from /proc VmHWM", memory_peak=Via.PROC)
    return plan
