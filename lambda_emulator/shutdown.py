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

SHUTDOWN_TOTAL_S: Final = 2.0


async def stop_environment(emulator: Emulator, reason: str) -> ShutdownRecord:
    if emulator.credentials is not None:
        emulator.credentials.phase = "shutdown"
    await emulator.thaw()
    started = time.monotonic()
    deadline_ms = int(time.time() * 1000 + SHUTDOWN_TOTAL_S * 1000)
    await _stop_runtime(emulator, graceful=bool(emulator.registry.agents))
    event = {"eventType": "SHUTDOWN", "deadlineMs": deadline_ms, "shutdownReason": reason}
    emulator.registry.send("SHUTDOWN", event)
    shutdown_names = {a.name for a in emulator.registry.subscribed("SHUTDOWN")}
    waits = []
    for process in emulator.extensions:
        if process.label not in shutdown_names:
            process.kill_group()
        waits.append(asyncio.ensure_future(process.exited()))
    remaining = started + SHUTDOWN_TOTAL_S - time.monotonic()
    if waits:
        await asyncio.wait(waits, timeout=max(0.0, remaining))
    exits: dict[str, ExtensionExit] = {}
    for process in emulator.extensions:
        in_time = not process.alive
        process.kill_group()
        code = await process.exited()
        figures = emulator.process_record(process.name)
        exits[process.name] = ExtensionExit(code, in_time, figures.cpu_ms, figures.peak_rss_mb)
    await emulator.telemetry.drained(0.05)
    emulator.mark_stopped()
    duration_ms = round((time.monotonic() - started) * 1000, 3)
    return ShutdownRecord(reason, duration_ms, deadline_ms, exits, emulator.limits())


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
