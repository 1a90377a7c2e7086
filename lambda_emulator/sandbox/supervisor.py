"""Starts the environment's processes where they belong and watches them: each joins its cgroups and the
environment's namespace between fork and exec, starts in its working directory as seen inside, and its exit is
told to whoever waits on the environment's state (`on_exit`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path

from lambda_emulator.sandbox.isolation import Isolation
from lambda_emulator.sandbox.limits import Sandbox
from lambda_emulator.sandbox.processes import OnLine, Process, launch


class Supervisor:
    def __init__(self, isolation: Isolation, sandbox: Sandbox, on_exit: Callable[[], None]) -> None:
        self._isolation = isolation
        self._sandbox = sandbox
        self._on_exit = on_exit
        self._watchers: list[asyncio.Task[None]] = []

    async def launch(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        on_line: OnLine,
        label: str = "runtime",
        log_socket: Path | None = None,
    ) -> Process:
        """Start a process of the environment: in its cgroups and its namespace, at `cwd` as seen inside
        (LaunchError when it cannot be started); with `log_socket`, its workers' output comes there too."""
        preexec, popen_cwd = self._isolation.spawn(cwd, self._sandbox.preexec(name))
        process = await launch(name, argv, env, popen_cwd, preexec, on_line, label, log_socket)
        self._sandbox.adopt(name, process.pid)
        self._watchers.append(asyncio.create_task(self._watch(process)))
        return process

    async def _watch(self, process: Process) -> None:
        await process.process.wait()
        self._on_exit()

    @staticmethod
    async def kill(processes: Iterable[Process]) -> None:
        """SIGKILL each process and what it started, and wait until its output is read to the end."""
        for process in processes:
            process.kill_group()
            await process.exited()

    def close(self) -> None:
        for watcher in self._watchers:
            watcher.cancel()
