"""The invoke phase on Lambda Managed Instances (LMI docs "execution environment"; LMI RIE `invoke/`).

No freeze, no INVOKE event to extensions, several invocations at once, each on its own runtime worker (one
pending `/next` each). An invoke waits for an idle worker (RIE refuses one at once with `Runtime.Unavailable`
and Lambda routes it elsewhere; a test's load generator never exceeds the workers, so it waits here), emits
`platform.start` (with `functionArn`), and ends when the response has been sent: `platform.report` then
carries `durationMs` only (`%.3f`), with the `responseLatency` and `responseDuration` spans (RIE
`invoke/metrics.go`) and no `platform.runtimeDone`. A timeout fails that invoke only (`timeout`,
`Sandbox.Timedout`); its worker runs on and a late answer gets 410 `InvokeTimeout`. A crash of the runtime
process or of an extension ends the environment for every invoke in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lambda_emulator import failures, records
from lambda_emulator.errors import InitFailed
from lambda_emulator.invoke import failed_init_record
from lambda_emulator.measurements import InitRecord, InvokeRecord
from lambda_emulator.runtime_api import Invocation

if TYPE_CHECKING:
    from lambda_emulator.environment import Emulator


async def run_lmi_invoke(emulator: Emulator, payload: bytes) -> InvokeRecord:
    try:
        init = await emulator.ensure_initialised() or emulator.take_pending_init()
    except InitFailed as failure:
        return failed_init_record(emulator, failure)
    generation, runtime = emulator.generation, emulator.runtime
    timeout_s = emulator.config.timeout_s
    if not await emulator.notifier.wait_until(lambda: runtime.idle_workers > 0 or _failed(emulator), timeout_s):
        return _unavailable(emulator, init)
    invocation = emulator.new_invocation(payload)
    emulator.telemetry.emit("platform.start", records.start(emulator, invocation))
    t0 = time.monotonic()
    runtime.release(invocation)
    emulator.in_flight += 1
    emulator.peak_in_flight = max(emulator.peak_in_flight, emulator.in_flight)
    left = max(0.0, t0 + timeout_s - time.monotonic())
    try:
        answered = await emulator.notifier.wait_until(lambda: invocation.done.is_set() or _failed(emulator), left)
    finally:
        emulator.in_flight -= 1
    status, error_type, crash = _outcome(emulator, invocation, answered)
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
        max_memory_used_mb=emulator.max_memory_used_mb(),
        error_type=error_type,
        init=init,
        processes=emulator.process_figures(),
        response=invocation.response or b"",
        started_at=t0,
        ended_at=t2,
    )
    emulator.telemetry.emit("platform.report", report(invocation, record, t0))
    emulator.invocations.append(record)
    if status == "timeout":
        record.error_message = f"the invoke timed out after {timeout_s:g} s waiting for the runtime"
    if crash:
        dead = next((p for p in emulator.all_processes() if not p.alive), None)
        await emulator.reset("failure", generation)
        record.error_message = failures.exit_message(dead) if dead is not None else None
        record.output = failures.outputs(emulator.all_processes())
    return record


def _failed(emulator: Emulator) -> bool:
    return _crash(emulator) is not None


def _crash(emulator: Emulator) -> str | None:
    if emulator.runtime_process is not None and not emulator.runtime_process.alive:
        return "Runtime.ExitError"
    if any(not p.alive for p in emulator.extensions):
        return "Extension.Crash"
    return None


def _outcome(emulator: Emulator, invocation: Invocation, answered: bool) -> tuple[str, str | None, bool]:
    if invocation.done.is_set():
        return ("error" if invocation.error_type else "success"), invocation.error_type, False
    crash = _crash(emulator)
    if answered and crash is not None:
        return "error", crash, True
    return "timeout", "Sandbox.Timedout", False


def _unavailable(emulator: Emulator, init: InitRecord | None) -> InvokeRecord:
    """No worker became idle within the function timeout (or the environment failed meanwhile)."""
    error_type = _crash(emulator) or "Runtime.Unavailable"
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
    emulator: Emulator, payloads: Sequence[bytes], callers: int, progress: Callable[[int], None] | None = None
) -> list[InvokeRecord]:
    """`callers` concurrent callers invoke until every payload was sent; the records in payload order."""
    results: list[InvokeRecord | None] = [None] * len(payloads)
    queue = iter(range(len(payloads)))
    done = 0

    async def caller() -> None:
        nonlocal done
        for index in queue:
            results[index] = await emulator.invoke(payloads[index])
            done += 1
            if progress is not None:
                progress(done)

    await asyncio.gather(*(caller() for _ in range(callers)))
    return [record for record in results if record is not None]
