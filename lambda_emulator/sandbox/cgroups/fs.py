"""The cgroup file system seam and the kernel's file formats.

Every mkdir, rmdir, read and write of a cgroup goes through `CgroupFs`, so the tests can hand the sandbox a fake
tree with the formats of Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/*.rst. Failures become
`CgroupError`, one line naming the file and what the emulator needs (never a raw PermissionError).
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

CPU_PERIOD_US: Final = 100_000
MIN_QUOTA_US: Final = 1_000  # the kernel refuses a CFS quota below 1 ms (v1 cpu.cfs_quota_us, v2 cpu.max)
NEEDS_ROOT: Final = "root (or write access to a delegated cgroup) on a writable /sys/fs/cgroup"
SETTLE_S: Final = 1.0
"""How long freezing, thawing or emptying a group may take before we go on without it."""


class CgroupError(Exception):
    """A cgroup could not be created, written, read or removed; the message names the file and what is needed."""


class CgroupFs:
    """The kernel's cgroup file systems (cgroupfs, cgroup2). Tests substitute a fake tree."""

    def mkdir(self, path: Path) -> None:
        try:
            path.mkdir()
        except OSError as error:
            raise failure("create", path, error) from error

    def rmdir(self, path: Path) -> None:
        try:
            path.rmdir()
        except OSError as error:
            raise failure("remove", path, error) from error

    def read(self, path: Path) -> str:
        try:
            return path.read_text()
        except OSError as error:
            raise failure("read", path, error) from error

    def write(self, path: Path, value: str) -> None:
        """One write(2) of the whole value, without O_CREAT or O_TRUNC: the kernel parses what one write carries."""
        try:
            descriptor = os.open(path, os.O_WRONLY)
            try:
                os.write(descriptor, value.encode())
            finally:
                os.close(descriptor)
        except OSError as error:
            raise failure(f"write {value!r} to", path, error) from error

    def exists(self, path: Path) -> bool:
        return path.exists()


def failure(action: str, path: Path, error: OSError) -> CgroupError:
    return CgroupError(f"cannot {action} {path}: {_explain(error, path)}")


def _explain(error: OSError, path: Path) -> str:
    reason = os.strerror(error.errno) if error.errno else str(error)
    if isinstance(error, PermissionError) or error.errno == errno.EROFS:
        return f"{reason}; cgroup limits need {NEEDS_ROOT}"
    if error.errno == errno.EBUSY and path.name == "cgroup.subtree_control":
        return (
            f"{reason}; cgroup v2 enables a controller only for a group without processes of its own (in a "
            "container, move its processes into a child group first, as docker-in-docker's entrypoint does)"
        )
    if error.errno == errno.EBUSY and path.name == "cgroup.procs":
        return f"{reason}; cgroup v2 puts processes only in leaf groups"
    if isinstance(error, FileNotFoundError):
        return f"{reason}; this kernel or mount does not offer {path.name}"
    return reason


def flat_keyed(text: str) -> dict[str, int]:
    """`KEY VALUE` per line (cpu.stat, memory.events, cgroup.events, v1 memory.oom_control)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[key] = int(value)
    return values


def single_int(text: str) -> int:
    """A single-value file holding a number (memory.peak, memory.max_usage_in_bytes, cpuacct.usage)."""
    return int(text.strip())


def controller_set(text: str) -> frozenset[str]:
    """A space separated list (cgroup.controllers, cgroup.subtree_control)."""
    return frozenset(text.split())


def quota_us(vcpus: float) -> int:
    """The CFS quota per CPU_PERIOD_US for a share of `vcpus` cores (1.0 = one core)."""
    return max(MIN_QUOTA_US, round(vcpus * CPU_PERIOD_US))


def remove_tree(group: Path, fs: CgroupFs) -> None:
    """rmdir the child groups, deepest first, then the group (a cgroup directory holds only kernel files)."""
    for child in sorted((p for p in group.iterdir() if p.is_dir()), reverse=True):
        remove_tree(child, fs)
    fs.rmdir(group)


async def settle(done: Callable[[], bool], within_s: float = SETTLE_S) -> bool:
    """Wait until `done()`, checking with a growing pause, at most `within_s`. The kernel freezes a group in
    microseconds to milliseconds; v1 freezer.state has no notification, and v2 cgroup.events notifies through
    inotify/POLLPRI, which asyncio's readiness loop cannot wait on."""
    deadline, pause = time.monotonic() + within_s, 0.0002
    while not done():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.005)
    return True


def settle_sync(done: Callable[[], bool], within_s: float = SETTLE_S) -> bool:
    """`settle` for teardown, which runs outside the event loop (atexit, __aexit__)."""
    deadline = time.monotonic() + within_s
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)
    return True
