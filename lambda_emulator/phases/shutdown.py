"""Shutdown and reset (lambda-api.md §5.1, §7.5-§7.6): SIGTERM the runtime, SHUTDOWN to the extensions that
asked for it, SIGKILL whatever is left at the deadline. The runtime's SIGTERM window is the mode's (300 ms;
LMI RIE: 600 ms); the whole phase is 2 s."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Final

from lambda_emulator.phases.measure import process_record
from lambda_emulator.phases.platform import Platform
from lambda_emulator.sandbox.limits import Sandbox
from lambda_emulator.sandbox.processes import Process
from lambda_emulator.state.generation import Generation
from lambda_emulator.state.measurements import ExtensionExit, ShutdownRecord

SHUTDOWN_TOTAL_S: Final = 2.0


async def stop_environment(reason: str, generation: Generation, platform: Platform, sandbox: Sandbox) -> ShutdownRecord:
    """Stop a thawed environment: the runtime first (SIGTERM, then SIGKILL after its window), then SHUTDOWN to the
    extensions that asked for it, the others killed; whatever is left is killed at the deadline."""
    started = time.monotonic()
    deadline_ms = int(time.time() * 1000 + SHUTDOWN_TOTAL_S * 1000)
    await _stop_runtime(generation, platform.config.rules.runtime_sigterm_s)
    runtime_ms = _ms_since(started)
    event = {"eventType": "SHUTDOWN", "deadlineMs": deadline_ms, "shutdownReason": reason}
    sent = time.monotonic()
    generation.registry.send("SHUTDOWN", event)
    shutdown_names = {a.name for a in generation.registry.subscribed("SHUTDOWN")}
    exited_at: dict[str, float] = {}
    waits = []
    for process in generation.extensions:
        if process.label not in shutdown_names:
            process.kill_group()
        waits.append(asyncio.ensure_future(_note_exit(process, exited_at)))
    remaining = started + SHUTDOWN_TOTAL_S - time.monotonic()
    if waits:
        await asyncio.wait(waits, timeout=max(0.0, remaining))
    exits: dict[str, ExtensionExit] = {}
    for process in generation.extensions:
        in_time = not process.alive
        process.kill_group()
        code = await process.exited()
        figures = process_record(sandbox, process.name)
        took = round((exited_at[process.name] - sent) * 1000, 3) if process.name in exited_at else None
        exits[process.name] = ExtensionExit(code, in_time, figures.cpu_ms, figures.peak_rss_mb, took)
    await platform.telemetry.drained(0.05, gone=frozenset(p.label for p in generation.extensions))
    return ShutdownRecord(reason, _ms_since(started), deadline_ms, exits, sandbox.limits(platform.config.freeze),
                          runtime_ms)  # fmt: skip


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)


async def _note_exit(process: Process, exited_at: dict[str, float]) -> None:
    """Wait for the process to end (its output read to the end) and note when."""
    await process.exited()
    exited_at[process.name] = time.monotonic()


async def _stop_runtime(generation: Generation, sigterm_s: float) -> None:
    """SIGTERM the runtime when extensions are there to be told (RIE), wait its window, then SIGKILL."""
    process = generation.runtime_process
    if process is None or not process.alive:
        return
    if generation.registry.agents:
        process.signal_group(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.exited(), sigterm_s)
    process.kill_group()
    await process.exited()
