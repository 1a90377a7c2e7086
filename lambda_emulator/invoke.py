"""The invoke phase on-demand and with SnapStart (lambda-api.md §5.1, §7.3): thaw, INVOKE, runtimeDone, report,
freeze; or reset. (Lambda Managed Instances: `lmi.py`.)

Times (monotonic): t0 the event is released, t1/t2 the runtime's response starts/ends, t3 the runtime calls
/next again, t4 the last INVOKE-subscribed extension calls /next. PostRuntimeExtensionsDuration = t4 - t3.
A timeout (t4 not reached by the deadline), a runtime crash, an OOM kill or an extension crash resets the
environment: runtimeDone and report carry the status, extensions get SHUTDOWN with the reason, and the next
invoke re-runs init with `phase: "invoke"`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambda_emulator import failures, records
from lambda_emulator.errors import InitFailed
from lambda_emulator.launch import Process
from lambda_emulator.measurements import InitRecord, InvokeRecord, RestoreRecord
from lambda_emulator.runtime_api import Invocation

if TYPE_CHECKING:
    from lambda_emulator.environment import Emulator


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    error_type: str | None = None
    reset_reason: str | None = None
    message: str | None = None
    """A reset: one line naming the process and what happened (failures.py)."""


def failed_init_record(emulator: Emulator, failure: InitFailed) -> InvokeRecord:
    """The invoke that an init (re-run at this invoke, `phase: "invoke"`) failed."""
    init = emulator.inits[-1]
    return InvokeRecord("", failure.status, init.duration_ms, 0, 0, 0, 0, failure.error_type, init,
                        error_message=failure.message, output=init.output)  # fmt: skip


async def run_invoke(emulator: Emulator, payload: bytes) -> InvokeRecord:
    try:
        init = await emulator.ensure_initialised() or emulator.take_pending_init()
    except InitFailed as failure:
        return failed_init_record(emulator, failure)
    restore = emulator.take_pending_restore()
    await emulator.thaw()
    invocation = emulator.new_invocation(payload)
    oom_before = emulator.sandbox.oom_kills()
    t0 = _release(emulator, invocation)
    deadline = t0 + emulator.config.timeout_s
    outcome = await _wait_runtime(emulator, invocation, deadline, oom_before)
    t3 = emulator.runtime.next_at if outcome.reset_reason is None and emulator.runtime.next_at else time.monotonic()
    emulator.telemetry.emit("platform.runtimeDone", _runtime_done(invocation, outcome, t0, t3))
    if outcome.reset_reason is None:
        outcome = await _wait_extensions(emulator, deadline)
    t4 = time.monotonic() if emulator.registry.subscribed("INVOKE") else t3
    record = InvokeRecord(
        request_id=invocation.request_id,
        status=outcome.status,
        duration_ms=round((t4 - t0) * 1000, 3),
        runtime_duration_ms=round((t3 - t0) * 1000, 3),
        post_runtime_extensions_ms=round((t4 - t3) * 1000, 3),
        billed_duration_ms=math.ceil((t4 - t0) * 1000),
        max_memory_used_mb=emulator.max_memory_used_mb(),
        error_type=outcome.error_type or invocation.error_type,
        init=init,
        processes=emulator.process_figures(),
        response=invocation.response or b"",
        restore=restore,
        started_at=t0,
        ended_at=t4,
    )
    emulator.telemetry.emit("platform.report", _report(emulator, invocation, record, t3, t4))
    if outcome.reset_reason is not None:
        await emulator.stop_environment(outcome.reset_reason)
        record.error_message = outcome.message
        record.output = failures.outputs(emulator.all_processes())
    else:
        await emulator.freeze()
    emulator.invocations.append(record)
    return record


def _release(emulator: Emulator, invocation: Invocation) -> float:
    tracing = {"type": "X-Amzn-Trace-Id", "value": invocation.trace_id}
    emulator.telemetry.emit("platform.start", records.start(emulator, invocation))
    emulator._invoke_marks = {a.id: a.next_calls for a in emulator.registry.subscribed("INVOKE")}
    emulator._runtime_mark = emulator.runtime.next_calls
    event = {
        "eventType": "INVOKE",
        "deadlineMs": invocation.deadline_ms,
        "requestId": invocation.request_id,
        "invokedFunctionArn": invocation.function_arn,
        "tracing": tracing,
    }
    emulator.registry.send("INVOKE", event)  # extensions first, then the runtime, as RIE does
    emulator.runtime.release(invocation)
    return time.monotonic()


async def _wait_runtime(emulator: Emulator, invocation: Invocation, deadline: float, oom_before: int) -> Outcome:
    runtime = emulator.runtime

    def back() -> bool:
        return runtime.next_calls > emulator._runtime_mark and runtime.waiting

    await emulator.notifier.wait_until(lambda: back() or _crashed(emulator) is not None, _left(deadline))
    if back():
        return Outcome("error" if invocation.error_type else "success", invocation.error_type)
    crashed = _crashed(emulator)
    if crashed is None:
        return Outcome("timeout", None, "timeout", _timed_out(emulator, "the runtime"))
    if crashed is emulator.runtime_process and emulator.sandbox.oom_kills() > oom_before:
        message = f"runtime was killed by the kernel's OOM killer at {emulator.config.memory_mb} MB"
        return Outcome("error", "Runtime.OutOfMemory", "failure", message)
    return await _crash(emulator, crashed)


async def _wait_extensions(emulator: Emulator, deadline: float) -> Outcome:
    agents = emulator.registry.subscribed("INVOKE")

    def ready() -> bool:
        return all(a.waiting and a.next_calls > emulator._invoke_marks.get(a.id, 0) for a in agents)

    await emulator.notifier.wait_until(lambda: ready() or _crashed(emulator) is not None, _left(deadline))
    if ready():
        invocation = emulator.runtime.current
        error_type = invocation.error_type if invocation else None
        return Outcome("error" if error_type else "success", error_type)
    crashed = _crashed(emulator)
    if crashed is not None:
        return await _crash(emulator, crashed)
    late = [
        f"extension {a.name}" for a in agents if not (a.waiting and a.next_calls > emulator._invoke_marks.get(a.id, 0))
    ]
    return Outcome("timeout", None, "timeout", _timed_out(emulator, ", ".join(late)))


def _crashed(emulator: Emulator) -> Process | None:
    """The process of the environment that died (the runtime first)."""
    if emulator.runtime_process is not None and not emulator.runtime_process.alive:
        return emulator.runtime_process
    return next((p for p in emulator.extensions if not p.alive), None)


async def _crash(emulator: Emulator, process: Process) -> Outcome:
    process.kill_group()  # what it started must not hold its output open
    await process.exited()
    kind = "Runtime.ExitError" if process is emulator.runtime_process else "Extension.Crash"
    return Outcome("error", kind, "failure", failures.exit_message(process))


def _timed_out(emulator: Emulator, waiting_for: str) -> str:
    return f"the invoke timed out after {emulator.config.timeout_s:g} s waiting for {waiting_for}"


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _runtime_done(invocation: Invocation, outcome: Outcome, t0: float, t3: float) -> dict[str, Any]:
    now_mono, now_wall = time.monotonic(), time.time()

    def wall(at: float) -> float:
        return records.wall_of(at, now_mono, now_wall)

    done: dict[str, Any] = {"requestId": invocation.request_id, "status": outcome.status}
    if outcome.error_type:
        done["errorType"] = outcome.error_type
    done["metrics"] = {"durationMs": round((t3 - t0) * 1000, 3), "producedBytes": len(invocation.response or b"")}
    t1, t2 = invocation.response_started_at, invocation.response_ended_at
    if outcome.reset_reason is None and t1 is not None and t2 is not None:
        done["spans"] = [
            records.span("responseLatency", wall(t0), (t1 - t0) * 1000),
            records.span("responseDuration", wall(t1), (t2 - t1) * 1000),
            records.span("runtimeOverhead", wall(t2), (t3 - t2) * 1000),
        ]
    return done


def _report(emulator: Emulator, invocation: Invocation, record: InvokeRecord, t3: float, t4: float) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "durationMs": record.duration_ms,
        "billedDurationMs": record.billed_duration_ms,
        "memorySizeMB": emulator.config.memory_mb,
        "maxMemoryUsedMB": record.max_memory_used_mb,
    }
    init: InitRecord | None = record.init
    if init is not None and init.phase == "init":
        metrics["initDurationMs"] = init.duration_ms
    restore: RestoreRecord | None = record.restore
    if restore is not None:
        metrics["restoreDurationMs"] = restore.duration_ms
    report: dict[str, Any] = {"requestId": invocation.request_id, "status": record.status, "metrics": metrics}
    if record.error_type:
        report["errorType"] = record.error_type
    if emulator.registry.agents:
        start = records.wall_of(t3, time.monotonic(), time.time())
        report["spans"] = [records.span("extensionOverhead", start, (t4 - t3) * 1000)]
    return report
