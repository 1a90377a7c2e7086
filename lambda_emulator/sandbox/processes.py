"""Processes of the execution environment: started in the sandbox, their output turned into telemetry lines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

OnLine = Callable[[str], None]


class LaunchError(Exception):
    """The process could not be started (exec failed: no such file, not executable, bad interpreter...)."""


@dataclass(slots=True)
class Process:
    name: str
    process: asyncio.subprocess.Process
    label: str
    """The extension's file name, or "runtime"."""
    output: deque[str] = field(default_factory=lambda: deque(maxlen=400))
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def exited(self) -> int:
        code = await self.process.wait()
        for reader in self.readers:  # the last lines it wrote are part of its telemetry
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        return code

    def signal_group(self, number: signal.Signals) -> None:
        """Signal the process and everything it started (its own session), as RIE signals the runtime's group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, number)

    def signal(self, number: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(number)

    def kill_group(self) -> None:
        """SIGKILL the process and everything it started (its own session)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


async def launch(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    preexec: Callable[[], Any] | None,
    on_line: OnLine,
    label: str = "runtime",
) -> Process:
    """Start one process of the environment; `preexec` runs in the child before exec (cgroups, namespace)."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=dict(env),
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: freeze and kill reach its children too
            preexec_fn=preexec,
            limit=1024 * 1024,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise LaunchError(f"{argv[0]} could not be started: {error}") from None
    launched = Process(name, process, label)
    for stream in (process.stdout, process.stderr):
        assert stream is not None
        launched.readers.append(asyncio.create_task(_read_lines(stream, launched, on_line)))
    return launched


async def _read_lines(stream: asyncio.StreamReader, process: Process, on_line: OnLine) -> None:
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # a line over the limit: deliver what we have
            line = await stream.read(1024 * 1024)
        if not line:
            return
        text = line.decode("utf-8", "replace")
        process.output.append(text)
        on_line(text)
