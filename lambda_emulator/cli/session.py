"""One session as the command line runs it: init, the mode's invokes, SHUTDOWN; every record kept.

A failed init does not end the session, as it does not end a Lambda function: the init is recorded (its
errorType, one line naming the process and its error, the processes' last output) and the next invoke runs it
again (`phase: "invoke"`). SnapStart is the exception: a snapshot whose init failed cannot be restored (Lambda
fails the version's publication), so the session goes straight to its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from lambda_emulator.emulator import Emulator
from lambda_emulator.state import failures
from lambda_emulator.state.config import EmulatorConfig
from lambda_emulator.state.errors import InitFailed
from lambda_emulator.state.measurements import InitRecord, InvokeRecord, SessionResult

Progress = Callable[[int, int], None]


async def run_session(
    config: EmulatorConfig, invocations: int, payload: bytes, progress: Progress, restores: int = 1
) -> SessionResult:
    """Init, then the mode's invokes: one at a time with a freeze between them (on-demand); spread over
    `config.concurrency` callers (LMI); spread over `restores` restores of one snapshot (SnapStart). Then SHUTDOWN."""
    loop = asyncio.get_running_loop()
    async with Emulator(config) as emulator:
        init = await _start(emulator)
        started = loop.time()
        invokes: list[InvokeRecord] = []
        if init.status == "success" or not emulator.rules.restores:
            invokes = await _invokes(emulator, invocations, payload, progress, restores)
        wall_s = loop.time() - started
        shutdown = await emulator.shutdown()
        runtime = [emulator.runtime_process] if emulator.runtime_process else []
        requests = list(emulator.credentials.requests) if emulator.credentials else []
        return SessionResult(init, invokes, shutdown, failures.outputs(emulator.extensions), config.mode,
                             list(emulator.restores), config.concurrency, emulator.peak_in_flight or 1, wall_s,
                             requests, list(emulator.inits), emulator.isolation.describe(),
                             failures.outputs(runtime))  # fmt: skip


async def _start(emulator: Emulator) -> InitRecord:
    try:
        return await emulator.start()
    except InitFailed:
        return emulator.inits[-1]


async def _invokes(
    emulator: Emulator, invocations: int, payload: bytes, progress: Progress, restores: int
) -> list[InvokeRecord]:
    if emulator.rules.concurrent:
        return await emulator.invoke_concurrently([payload] * invocations, progress=lambda n: progress(n, invocations))
    records: list[InvokeRecord] = []
    copies = max(1, restores) if emulator.rules.restores else 1
    for copy in range(copies):
        if emulator.rules.restores and (await emulator.restore()).status != "success":
            break  # its processes are gone: nothing left to restore
        share = invocations // copies + (1 if copy < invocations % copies else 0)
        for _ in range(share):
            records.append(await emulator.invoke(payload))
            progress(len(records), invocations)
    return records
