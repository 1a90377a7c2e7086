"""The execution environment's limits, freeze/thaw and per-process figures, from what the host has.

`create_sandbox` reads the cgroup layout under /sys/fs/cgroup (`cgroups.host`: pure v1, pure v2 or hybrid), picks a
mechanism per capability, creates one group per environment in the hierarchies it uses (`cgroups.v1`,
`cgroups.v2`) and falls back where the host refuses. Without a memory and a cpu controller there are no limits:
the emulator says so in one line (a `lambda_emulator` warning) and every record carries `limits.enforced: false`.
The freezer falls back to SIGSTOP/SIGCONT of each process group, figures to /proc while the process lives.

Groups are removed when the environment closes, at exit for any still open, and, for emulators that were
killed, by the next emulator process (`cgroups.stale`).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Final

from lambda_emulator.sandbox.cgroups.fs import CgroupError, CgroupFs
from lambda_emulator.sandbox.cgroups.host import CGROUP_ROOT, LIMIT_NEEDS, OFF, Host, Plan, Via, choose, probe, refine
from lambda_emulator.sandbox.cgroups.stale import group_name, remove_stale
from lambda_emulator.sandbox.cgroups.v1 import V1Groups
from lambda_emulator.sandbox.cgroups.v2 import V2Group
from lambda_emulator.sandbox.figures import Limits, ProcessFigures, function_vcpus, proc_figures

LOG: Final = logging.getLogger("lambda_emulator")
ROOT_VARIABLE: Final = "LAMBDA_EMULATOR_CGROUP_ROOT"


class SandboxUnavailable(Exception):
    """Limits were required (`use_cgroups=True`) and this host cannot give them; the message says what is needed."""


class Sandbox:
    """The processes of one environment under one `Plan`."""

    def __init__(self, plan: Plan, v1: V1Groups | None = None, v2: V2Group | None = None) -> None:
        self.plan = plan
        self._v1, self._v2 = v1, v2
        self._pids: dict[str, int] = {}
        self._last: dict[str, ProcessFigures] = {}
        self.frozen = False

    def _at(self, via: Via) -> V1Groups | V2Group | None:
        return self._v1 if via is Via.V1 else self._v2 if via is Via.V2 else None

    # -- processes ---------------------------------------------------------------------------------------
    def preexec(self, name: str) -> Callable[[], None] | None:
        """Runs in the child between fork and exec: it joins its groups before any of its code runs."""
        targets = [target for groups in (self._v1, self._v2) if groups for target in groups.join_targets(name)]
        if not targets:
            return None
        encoded = [str(target).encode() for target in targets]

        def join() -> None:
            pid = str(os.getpid()).encode()
            for target in encoded:
                descriptor = os.open(target, os.O_WRONLY)
                os.write(descriptor, pid)
                os.close(descriptor)

        return join

    def adopt(self, name: str, pid: int) -> None:
        self._pids[name] = pid

    # -- limits ------------------------------------------------------------------------------------------
    def set_cpu(self, vcpus: float | None) -> None:
        """The CPU quota from now on, in cores (None: unlimited); nothing where the host has no quota."""
        group = self._at(self.plan.cpu)
        if group is not None:
            group.set_cpu(vcpus)

    def limits(self, freeze: bool) -> Limits:
        plan = self.plan
        freezer = str(plan.freezer) if freeze else "off"
        return Limits(str(plan.memory), str(plan.cpu), freezer, plan.limits_enforced)

    # -- freezer -----------------------------------------------------------------------------------------
    async def freeze(self) -> None:
        group = self._at(self.plan.freezer)
        if group is not None:
            await group.freeze()
        else:
            self._signal_all(signal.SIGSTOP)
        self.frozen = True

    async def thaw(self) -> None:
        group = self._at(self.plan.freezer)
        if group is not None:
            await group.thaw()
        else:
            self._signal_all(signal.SIGCONT)
        self.frozen = False

    def _signal_all(self, number: signal.Signals) -> None:
        for pid in self._pids.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, number)

    # -- figures -----------------------------------------------------------------------------------------
    def figures(self, name: str) -> ProcessFigures:
        """CPU time and peak memory of one process; from /proc where no cgroup gives them (last read if gone)."""
        clock, meter = self._at(self.plan.cpu_time), self._at(self.plan.memory_peak)
        cpu_ms = clock.cpu_ms(name) if clock is not None else None
        peak = meter.peak_bytes(name) if meter is not None else None
        if cpu_ms is None or peak is None:
            proc = self._proc_figures(name)
            cpu_ms = proc.cpu_ms if cpu_ms is None else cpu_ms
            peak = proc.peak_rss_bytes if peak is None else peak
        return ProcessFigures(cpu_ms, peak)

    def _proc_figures(self, name: str) -> ProcessFigures:
        pid = self._pids.get(name)
        if pid is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                self._last[name] = proc_figures(pid)
        return self._last.get(name, ProcessFigures(0.0, 0))

    def max_memory_bytes(self) -> int:
        """The environment's peak: the memory group's, or the sum of each process's peak."""
        meter = self._at(self.plan.memory_peak)
        peak = meter.group_peak_bytes() if meter is not None else None
        return peak if peak is not None else sum(self.figures(name).peak_rss_bytes for name in self._pids)

    def oom_kills(self) -> int:
        group = self._at(self.plan.memory)
        return group.oom_kills() if group is not None else 0

    # -- teardown ----------------------------------------------------------------------------------------
    def destroy(self) -> None:
        """Remove the groups (killing what is still inside). Idempotent; a failure is one warning line."""
        _LIVE.discard(self)
        self._pids.clear()
        for groups in (self._v1, self._v2):
            if groups is not None:
                try:
                    groups.destroy()
                except CgroupError as error:
                    LOG.warning("lambda_emulator: a cgroup was left behind: %s", error)
        self._v1 = self._v2 = None


class _BuildFailed(Exception):
    def __init__(self, version: Via, error: CgroupError) -> None:
        super().__init__(str(error))
        self.version = version


def create_sandbox(
    memory_mb: int, use_cgroups: bool | None = None, root: Path | None = None, fs: CgroupFs | None = None
) -> Sandbox:
    """`use_cgroups`: None uses what the host has, True requires limits (else `SandboxUnavailable`), False none.

    `root` defaults to $LAMBDA_EMULATOR_CGROUP_ROOT or /sys/fs/cgroup (an empty directory: a host without cgroups).
    """
    fs = fs or CgroupFs()
    root = root or Path(os.environ.get(ROOT_VARIABLE) or CGROUP_ROOT)
    if use_cgroups is False:
        return _opened(Sandbox(OFF))
    host = probe(root, fs)
    _remove_stale_once(host, fs)
    notes: tuple[str, ...] = ()
    while True:
        plan = choose(host, notes)
        if use_cgroups and not plan.limits_enforced:
            raise SandboxUnavailable(f"needs {LIMIT_NEEDS}; {host.describe()}")
        try:
            return _opened(build_sandbox(plan, host, memory_mb, fs))
        except _BuildFailed as failed:
            if use_cgroups:
                raise SandboxUnavailable(f"{failed}; limits need {LIMIT_NEEDS}") from failed
            host, notes = host.without(failed.version), (*notes, str(failed))


def build_sandbox(plan: Plan, host: Host, memory_mb: int, fs: CgroupFs) -> Sandbox:
    """Create the groups the plan uses, v2 first (its files refine the plan), then v1 (`create_sandbox` retries
    without a version whose groups could not be made; tests call this to run one version's mechanisms)."""
    name, v2, v1 = group_name(), None, None
    if plan.uses_v2 and host.v2 is not None:
        v2 = V2Group(host.v2, name, plan.v2_controllers(), fs)
        try:
            v2.create()
            plan = refine(plan, host, v2.has("cgroup.freeze"), v2.has("memory.peak"))
            _apply_limits(v2, plan, Via.V2, memory_mb)
        except CgroupError as error:
            _discard(v2)
            raise _BuildFailed(Via.V2, error) from error
    if plan.v1_controllers():
        v1 = V1Groups(host.root, name, plan.v1_controllers(), fs)
        try:
            v1.create()
            _apply_limits(v1, plan, Via.V1, memory_mb)
        except CgroupError as error:
            _discard(v1)
            if v2 is not None:
                _discard(v2)
            raise _BuildFailed(Via.V1, error) from error
    return Sandbox(plan, v1, v2)


def _apply_limits(groups: V1Groups | V2Group, plan: Plan, version: Via, memory_mb: int) -> None:
    if plan.memory is version:
        groups.set_memory_max(memory_mb * 1024 * 1024)
    if plan.cpu is version:
        groups.set_cpu(function_vcpus(memory_mb))


def _discard(groups: V1Groups | V2Group) -> None:
    with contextlib.suppress(CgroupError, OSError):
        groups.destroy()


# -- one notice per process, stale groups once per process and root, and nothing left at exit ---------------
_LIVE: Final[set[Sandbox]] = set()
_ONCE: Final[set[str]] = set()


def _opened(sandbox: Sandbox) -> Sandbox:
    _LIVE.add(sandbox)
    line = sandbox.plan.no_limits_line()
    if line is not None and "warned" not in _ONCE:
        _ONCE.add("warned")
        LOG.warning(line)
    return sandbox


def _remove_stale_once(host: Host, fs: CgroupFs) -> None:
    if f"stale {host.root}" not in _ONCE:
        _ONCE.add(f"stale {host.root}")
        removed = remove_stale(host, fs)
        if removed:
            LOG.info("lambda_emulator: removed %d stale cgroup(s) of emulators that are gone", len(removed))


@atexit.register
def _destroy_live() -> None:
    for sandbox in list(_LIVE):
        sandbox.destroy()
