"""The invoke phase on-demand and with SnapStart (lambda-api.md §5.1, §7.3): thaw, INVOKE, runtimeDone, report,
freeze; or reset. (Lambda Managed Instances: `concurrent.py`.)

Times (monotonic): t0 the event is released, t1/t2 the runtime's response starts/ends, t3 the runtime calls
/next again, t4 the last INVOKE-subscribed extension calls /next. PostRuntimeExtensionsDuration = t4 - t3.
A timeout (t4 not reached by the deadline), a runtime crash, an OOM kill or an extension crash resets the
environment: runtimeDone and report carry the status, and the outcome names the reset's reason (the caller sends
extensions SHUTDOWN with it, and the next invoke re-runs init with `phase: "invoke"`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from lambda_emulator.phases.measure import max_memory_used_mb, process_records
from lambda_emulator.phases.platform import Platform
from lambda_emulator.sandbox.limits import Sandbox
from lambda_emulator.sandbox.processes import Process
from lambda_emulator.state import failures
from lambda_emulator.state.extensions import Agent
from lambda_emulator.state.generation import Generation
from lambda_emulator.state.measurements import InitRecord, InvokeRecord, RestoreRecord
from lambda_emulator.state.runtime import Invocation
from lambda_emulator.telemetry import platform_records as records


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    error_type: str | None = None
    reset_reason: str | None = None
    message: str | None = None
    """A reset: one line naming the process and what happened (state/failures.py)."""


def failed_init_record(init: InitRecord) -> InvokeRecord:
    """The invoke that an init (re-run at this invoke, `phase: "invoke"`) failed."""
    return InvokeRecord("", init.status, init.duration_ms, 0, 0, 0, 0, init.error_type, init,
                        error_message=init.error_message, output=init.output)  # fmt: skip


async def run_invoke(
    invocation: Invocation,
    generation: Generation,
    platform: Platform,
    sandbox: Sandbox,
    init: InitRecord | None,
    restore: RestoreRecord | None,
) -> tuple[InvokeRecord, Outcome]:
    """One invoke of a thawed environment, from platform.start to platform.report. `init` and `restore` are the
    init and restore this invoke is the first after (its report carries their durations)."""
    telemetry, config = platform.telemetry, platform.config
    oom_before = sandbox.oom_kills()
    t0, marks = _release(invocation, generation, platform)
    deadline = t0 + config.timeout_s
    outcome = await _wait_runtime(invocation, generation, platform, sandbox, marks, deadline, oom_before)
    runtime = generation.runtime
    t3 = runtime.next_at if outcome.reset_reason is None and runtime.next_at else time.monotonic()
    telemetry.emit("platform.runtimeDone", _runtime_done(invocation, outcome, t0, t3))
    if outcome.reset_reason is None:
        outcome = await _wait_extensions(generation, platform, marks, deadline)
    t4 = time.monotonic() if generation.registry.subscribed("INVOKE") else t3
    record = InvokeRecord(
        request_id=invocation.request_id,
        status=outcome.status,
        duration_ms=round((t4 - t0) * 1000, 3),
        runtime_duration_ms=round((t3 - t0) * 1000, 3),
        post_runtime_extensions_ms=round((t4 - t3) * 1000, 3),
        billed_duration_ms=math.ceil((t4 - t0) * 1000),
        max_memory_used_mb=max_memory_used_mb(sandbox),
        error_type=outcome.error_type or invocation.error_type,
        init=init,
        processes=process_records(sandbox, generation.processes()),
        response=invocation.response or b"",
        restore=restore,
        started_at=t0,
        ended_at=t4,
    )
    telemetry.emit("platform.report", _report(config.memory_mb, bool(generation.registry.agents), invocation,
                                              record, t3, t4))  # fmt: skip
    return record, outcome


@dataclass(frozen=True, slots=True)
class Marks:
    """How many /next calls the runtime and each INVOKE subscriber had made when the event was released."""

    runtime: int
    extensions: dict[str, int]


def _release(invocation: Invocation, generation: Generation, platform: Platform) -> tuple[float, Marks]:
    tracing = {"type": "X-Amzn-Trace-Id", "value": invocation.trace_id}
    platform.telemetry.emit("platform.start", records.start(platform.config, invocation))
    registry, runtime = generation.registry, generation.runtime
    marks = Marks(runtime.next_calls, {a.id: a.next_calls for a in registry.subscribed("INVOKE")})
    event = {
        "eventType": "INVOKE",
        "deadlineMs": invocation.deadline_ms,
        "requestId": invocation.request_id,
        "invokedFunctionArn": invocation.function_arn,
        "tracing": tracing,
    }
    registry.send("INVOKE", event)  # extensions first, then the runtime, as RIE does
    runtime.release(invocation)
    return time.monotonic(), marks


async def _wait_runtime(
    invocation: Invocation,
    generation: Generation,
    platform: Platform,
    sandbox: Sandbox,
    marks: Marks,
    deadline: float,
    oom_before: int,
) -> Outcome:
    runtime = generation.runtime

    def back() -> bool:
        return runtime.next_calls > marks.runtime and runtime.waiting

    await platform.notifier.wait_until(lambda: back() or generation.crashed() is not None, _left(deadline))
    if back():
        return Outcome("error" if invocation.error_type else "success", invocation.error_type)
    crashed = generation.crashed()
    if crashed is None:
        return Outcome("timeout", None, "timeout", _timed_out(platform, "the runtime"))
    if crashed is generation.runtime_process and sandbox.oom_kills() > oom_before:
        message = f"runtime was killed by the kernel's OOM killer at {platform.config.memory_mb} MB"
        return Outcome("error", "Runtime.OutOfMemory", "failure", message)
    return await _crash(generation, crashed)


async def _wait_extensions(generation: Generation, platform: Platform, marks: Marks, deadline: float) -> Outcome:
    agents = generation.registry.subscribed("INVOKE")

    def back(agent: Agent) -> bool:
        return agent.waiting and agent.next_calls > marks.extensions.get(agent.id, 0)

    def ready() -> bool:
        return all(back(a) for a in agents)

    await platform.notifier.wait_until(lambda: ready() or generation.crashed() is not None, _left(deadline))
    if ready():
        invocation = generation.runtime.current
        error_type = invocation.error_type if invocation else None
        return Outcome("error" if error_type else "success", error_type)
    crashed = generation.crashed()
    if crashed is not None:
        return await _crash(generation, crashed)
    late = [f"extension {a.name}" for a in agents if not back(a)]
    return Outcome("timeout", None, "timeout", _timed_out(platform, ", ".join(late)))


async def _crash(generation: Generation, process: Process) -> Outcome:
    process.kill_group()  # what it started must not hold its output open
    await process.exited()
    kind = "Runtime.ExitError" if process is generation.runtime_process else "Extension.Crash"
    return Outcome("error", kind, "failure", failures.exit_message(process))


def _timed_out(platform: Platform, waiting_for: str) -> str:
    return f"the invoke timed out after {platform.config.timeout_s:g} s waiting for {waiting_for}"


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


def _report(
    memory_mb: int, with_extensions: bool, invocation: Invocation, record: InvokeRecord, t3: float, t4: float
) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "durationMs": record.duration_ms,
        "billedDurationMs": record.billed_duration_ms,
        "memorySizeMB": memory_mb,
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
    if with_extensions:
        start = records.wall_of(t3, time.monotonic(), time.time())
        report["spans"] = [records.span("extensionOverhead", start, (t4 - t3) * 1000)]
    return report
