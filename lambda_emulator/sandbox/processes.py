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
from pathlib import Path
from typing import Any

from lambda_emulator.sandbox.log_sockets import LogSocket

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
    readers: list[asyncio.Task[Any]] = field(default_factory=list)
    """One per stream of output: stdout, stderr, and each connection to its log socket."""
    log_socket: LogSocket | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def exited(self) -> int:
        code = await self.process.wait()
        if self.log_socket is not None:
            self.log_socket.close()
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
    log_socket: Path | None = None,
) -> Process:
    """Start one process of the environment; `preexec` runs in the child before exec (cgroups, namespace). With
    `log_socket`, every connection to that socket is one more stream of its output (log_sockets.py)."""
    started: asyncio.Future[Process] = asyncio.get_running_loop().create_future()

    async def read_connection(stream: asyncio.StreamReader) -> None:
        process = await started
        task = asyncio.current_task()
        assert task is not None
        process.readers.append(task)  # exited() reads it to its end, as it does stdout and stderr
        await _read_lines(stream, process, on_line)

    socket = LogSocket(log_socket) if log_socket is not None else None
    if socket is not None:
        await socket.open(read_connection)
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
        if socket is not None:
            socket.close()
        raise LaunchError(f"{argv[0]} could not be started: {error}") from None
    launched = Process(name, process, label, log_socket=socket)
    for stream in (process.stdout, process.stderr):
        assert stream is not None
        launched.readers.append(asyncio.create_task(_read_lines(stream, launched, on_line)))
    started.set_result(launched)
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
