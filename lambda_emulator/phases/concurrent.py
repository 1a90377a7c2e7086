"""The invoke phase on Lambda Managed Instances (LMI docs "execution environment"; LMI RIE `invoke/`).

No freeze, no INVOKE event to extensions, several invocations at once, each on its own runtime worker (one
pending `/next` each). An invoke waits for an idle worker (RIE refuses one at once with `Runtime.Unavailable`
and Lambda routes it elsewhere; a test's load generator never exceeds the workers, so it waits here), emits
`platform.start` (with `functionArn`), and ends when the response has been sent: `platform.report` then
carries `durationMs` only (`%.3f`), with the `responseLatency` and `responseDuration` spans (RIE
`invoke/metrics.go`) and no `platform.runtimeDone`. A timeout fails that invoke only (`timeout`,
`Sandbox.Timedout`); its worker runs on and a late answer gets 410 `InvokeTimeout`. A crash of the runtime
process or of an extension ends the environment for every invoke in flight (the caller resets it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_emulator.phases.measure import max_memory_used_mb, process_records
from lambda_emulator.phases.platform import Platform
from lambda_emulator.sandbox.limits import Sandbox
from lambda_emulator.state.generation import Generation
from lambda_emulator.state.measurements import InitRecord, InvokeRecord
from lambda_emulator.state.runtime import Invocation
from lambda_emulator.telemetry import platform_records as records


@dataclass(slots=True)
class InFlight:
    """Invocations released to a worker and not yet answered: now, and the most at once."""

    now: int = 0
    peak: int = 0


async def run_concurrent_invoke(
    new_invocation: Callable[[], Invocation],
    generation: Generation,
    platform: Platform,
    sandbox: Sandbox,
    init: InitRecord | None,
    in_flight: InFlight,
) -> tuple[InvokeRecord, bool]:
    """One invoke on an idle worker (`new_invocation` makes it once one is free). (record, whether a process of the
    environment crashed: the caller resets it)."""
    runtime, telemetry = generation.runtime, platform.telemetry
    timeout_s = platform.config.timeout_s
    if not await platform.notifier.wait_until(lambda: runtime.idle_workers > 0 or _failed(generation), timeout_s):
        return _unavailable(generation, init), False
    invocation = new_invocation()
    telemetry.emit("platform.start", records.start(platform.config, invocation))
    t0 = time.monotonic()
    runtime.release(invocation)
    in_flight.now += 1
    in_flight.peak = max(in_flight.peak, in_flight.now)
    left = max(0.0, t0 + timeout_s - time.monotonic())
    try:
        answered = await platform.notifier.wait_until(lambda: invocation.done.is_set() or _failed(generation), left)
    finally:
        in_flight.now -= 1
    status, error_type, crash = _outcome(generation, invocation, answered)
    if status == "timeout":
        runtime.time_out(invocation)
    t2 = invocation.response_ended_at if invocation.done.is_set() and invocation.response_ended_at else time.monotonic()
    record = InvokeRecord(
        request_id=invocation.request_id,
        status=status,
        duration_ms=round((t2 - t0) * 1000, 3),
        runtime_duration_ms=round((t2 - t0) * 1000, 3),
        post_runtime_extensions_ms=0.0,  # no extension phase after the runtime on LMI
        billed_duration_ms=0,  # LMI bills the instances, not each invoke
        max_memory_used_mb=max_memory_used_mb(sandbox),
        error_type=error_type,
        init=init,
        processes=process_records(sandbox, generation.processes()),
        response=invocation.response or b"",
        started_at=t0,
        ended_at=t2,
    )
    telemetry.emit("platform.report", report(invocation, record, t0))
    if status == "timeout":
        record.error_message = f"the invoke timed out after {timeout_s:g} s waiting for the runtime"
    return record, crash


def _failed(generation: Generation) -> bool:
    return generation.crash_type() is not None


def _outcome(generation: Generation, invocation: Invocation, answered: bool) -> tuple[str, str | None, bool]:
    if invocation.done.is_set():
        return ("error" if invocation.error_type else "success"), invocation.error_type, False
    crash = generation.crash_type()
    if answered and crash is not None:
        return "error", crash, True
    return "timeout", "Sandbox.Timedout", False


def _unavailable(generation: Generation, init: InitRecord | None) -> InvokeRecord:
    """No worker became idle within the function timeout (or the environment failed meanwhile)."""
    error_type = generation.crash_type() or "Runtime.Unavailable"
    return InvokeRecord("", "error", 0.0, 0.0, 0.0, 0, 0, error_type, init)


def report(invocation: Invocation, record: InvokeRecord, t0: float) -> dict[str, Any]:
    now_mono, now_wall = time.monotonic(), time.time()

    def wall(at: float) -> float:
        return records.wall_of(at, now_mono, now_wall)

    reported: dict[str, Any] = {
        "requestId": invocation.request_id,
        "status": record.status,
        "metrics": {"durationMs": record.duration_ms},
    }
    sent, t1, t2 = invocation.released_at, invocation.response_started_at, invocation.response_ended_at
    spans = []
    if sent and t1 is not None:
        spans.append(records.span("responseLatency", wall(sent), (t1 - sent) * 1000))
        if t2 is not None:
            spans.append(records.span("responseDuration", wall(t1), (t2 - t1) * 1000))
    if spans:
        reported["spans"] = spans
    if record.error_type:
        reported["errorType"] = record.error_type
    return reported


async def load_generator(
    invoke: Callable[[bytes], Awaitable[InvokeRecord]],
    payloads: Sequence[bytes],
    callers: int,
    progress: Callable[[int], None] | None = None,
) -> list[InvokeRecord]:
    """`callers` concurrent callers invoke until every payload was sent; the records in payload order."""
    results: list[InvokeRecord | None] = [None] * len(payloads)
    queue = iter(range(len(payloads)))
    done = 0

    async def caller() -> None:
        nonlocal done
        for index in queue:
            results[index] = await invoke(payloads[index])
            done += 1
            if progress is not None:
                progress(done)

    await asyncio.gather(*(caller() for _ in range(callers)))
    return [record for record in results if record is not None]
