"""One private mount namespace per execution environment, and how its processes enter it.

A holder process (`ns_holder.py`, run by this module's `MountNamespace.start`) creates the namespace and mounts
the environment's file system in it; every process of the environment is then started in that same namespace:
between fork and exec it calls setns(2) on the holder's `/proc/<pid>/ns/mnt` (opened once by the emulator),
takes the holder's root directory as its own (`/proc/<pid>/root`, as `nsenter --root` does: setns leaves a
process at the namespace's top, outside any chroot the emulator runs in) and changes to its working directory
as seen inside. Python 3.11 has no `os.setns`, so libc's is called through ctypes (a forked child has one
thread, as setns(CLONE_NEWNS) requires).

Nothing changes on the host: the namespace's mounts are private, and the holder exits when the emulator
closes its stdin (or when the emulator dies and the pipe closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

HOLDER: Final = Path(__file__).with_name("ns_holder.py")
CLONE_NEWNS: Final = 0x00020000
START_TIMEOUT_S: Final = 10.0
_LIBC: Final = ctypes.CDLL(None, use_errno=True)
_LIBC.setns.argtypes = [ctypes.c_int, ctypes.c_int]


class NamespaceUnavailable(Exception):
    """The private mount namespace could not be made (the message says why and what it needs)."""


@dataclass(frozen=True, slots=True)
class Bind:
    source: Path
    target: str
    readonly: bool = True


@dataclass(frozen=True, slots=True)
class MountPlan:
    binds: tuple[Bind, ...]
    tmp: Path
    """The folder that becomes the environment's private /tmp."""
    staging: Path
    shared: tuple[Path, ...] = field(default=())

    def to_json(self) -> bytes:
        binds = [{"source": str(b.source), "target": b.target, "readonly": b.readonly} for b in self.binds]
        plan = {"binds": binds, "tmp": str(self.tmp), "staging": str(self.staging),
                "shared": [str(p.resolve()) for p in self.shared]}  # fmt: skip
        return orjson.dumps(plan)


class MountNamespace:
    def __init__(self, holder: asyncio.subprocess.Process, descriptor: int, root: int) -> None:
        self._holder = holder
        self._descriptor = descriptor
        self._root = root

    @classmethod
    async def start(cls, plan: MountPlan, python: str = sys.executable) -> MountNamespace:
        """Start the holder and wait until the namespace is ready; NamespaceUnavailable if it fails."""
        if os.geteuid() != 0:
            raise NamespaceUnavailable("a private mount namespace needs root (CAP_SYS_ADMIN)")
        holder = await asyncio.create_subprocess_exec(
            python, "-I", str(HOLDER), plan.to_json().decode(),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        assert holder.stdout is not None
        try:
            line = await asyncio.wait_for(holder.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            line = b"error: the namespace holder did not answer in time"
        answer = line.decode("utf-8", "replace").strip()
        if answer != "ready":
            await _stop(holder)
            reason = answer.removeprefix("error: ") or f"the holder exited with {holder.returncode}"
            raise NamespaceUnavailable(f"no private mount namespace (it needs root: CAP_SYS_ADMIN): {reason}")
        descriptor = os.open(f"/proc/{holder.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        root = os.open(f"/proc/{holder.pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        return cls(holder, descriptor, root)

    @property
    def pid(self) -> int:
        """The holder's process id (its /proc/<pid>/mountinfo is the namespace's mount table)."""
        return self._holder.pid

    def entering(self, cwd: str, before: Callable[[], None] | None = None) -> Callable[[], Any]:
        """A `preexec_fn`: run `before` (joining cgroups, on the host's paths), enter the namespace and the
        holder's root, chdir."""
        descriptor, root, encoded_cwd = self._descriptor, self._root, os.fsencode(cwd)

        def enter() -> None:
            if before is not None:
                before()
            if _LIBC.setns(descriptor, CLONE_NEWNS) != 0:
                raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNS) into the environment's mount namespace")
            os.fchdir(root)
            os.chroot(".")
            os.chdir(encoded_cwd)

        return enter

    async def close(self) -> None:
        for descriptor in (self._descriptor, self._root):
            with contextlib.suppress(OSError):
                os.close(descriptor)
        await _stop(self._holder)


async def _stop(holder: asyncio.subprocess.Process) -> None:
    if holder.stdin is not None and not holder.stdin.is_closing():
        holder.stdin.close()
    try:
        await asyncio.wait_for(holder.wait(), 2.0)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            holder.kill()
        await holder.wait()
