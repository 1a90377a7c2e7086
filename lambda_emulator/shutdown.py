"""Shutdown and reset (lambda-api.md §5.1, §7.5-§7.6): SIGTERM the runtime, SHUTDOWN to the extensions that
asked for it, SIGKILL whatever is left at the deadline. The runtime's SIGTERM window is the mode's (300 ms;
LMI RIE: 600 ms); the whole phase is 2 s."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import TYPE_CHECKING, Final

from lambda_emulator.measurements import ExtensionExit, ShutdownRecord

if TYPE_CHECKING:
    from lambda_emulator.environment import Emulator
    from lambda_emulator.launch import Process

SHUTDOWN_TOTAL_S: Final = 2.0


async def stop_environment(emulator: Emulator, reason: str) -> ShutdownRecord:
    if emulator.credentials is not None:
        emulator.credentials.phase = "shutdown"
    await emulator.thaw()
    started = time.monotonic()
    deadline_ms = int(time.time() * 1000 + SHUTDOWN_TOTAL_S * 1000)
    await _stop_runtime(emulator, graceful=bool(emulator.registry.agents))
    runtime_ms = _ms_since(started)
    event = {"eventType": "SHUTDOWN", "deadlineMs": deadline_ms, "shutdownReason": reason}
    sent = time.monotonic()
    emulator.registry.send("SHUTDOWN", event)
    shutdown_names = {a.name for a in emulator.registry.subscribed("SHUTDOWN")}
    exited_at: dict[str, float] = {}
    waits = []
    for process in emulator.extensions:
        if process.label not in shutdown_names:
            process.kill_group()
        waits.append(asyncio.ensure_future(_note_exit(process, exited_at)))
    remaining = started + SHUTDOWN_TOTAL_S - time.monotonic()
    if waits:
        await asyncio.wait(waits, timeout=max(0.0, remaining))
    exits: dict[str, ExtensionExit] = {}
    for process in emulator.extensions:
        in_time = not process.alive
        process.kill_group()
        code = await process.exited()
        figures = emulator.process_record(process.name)
        took = round((exited_at[process.name] - sent) * 1000, 3) if process.name in exited_at else None
        exits[process.name] = ExtensionExit(code, in_time, figures.cpu_ms, figures.peak_rss_mb, took)
    await emulator.telemetry.drained(0.05, gone=frozenset(p.label for p in emulator.extensions))
    emulator.mark_stopped()
    return ShutdownRecord(reason, _ms_since(started), deadline_ms, exits, emulator.limits(), runtime_ms)


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)


async def _note_exit(process: Process, exited_at: dict[str, float]) -> None:
    """Wait for the process to end (its output read to the end) and note when."""
    await process.exited()
    exited_at[process.name] = time.monotonic()


async def _stop_runtime(emulator: Emulator, graceful: bool) -> None:
    process = emulator.runtime_process
    if process is None or not process.alive:
        return
    if graceful:
        process.signal_group(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.exited(), emulator.config.rules.runtime_sigterm_s)
    process.kill_group()
    await process.exited()


async def kill_everything(emulator: Emulator) -> None:
    for process in emulator.all_processes():
        process.kill_group()
        await process.exited()
