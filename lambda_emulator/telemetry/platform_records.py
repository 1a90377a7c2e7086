"""The `record` of each platform event, shaped as in lambda-api.md §3 (schemas 2022-12-13 and 2025-01-29).

Per mode: `initializationType` is the mode's init type; LMI's initStart also carries `hostGroup` (New Relic's
extension reads it under schema 2025-01-29; its value here is a placeholder) and LMI's `platform.start` the
`functionArn` (LMI RIE `InvokeStartData`); SnapStart adds the restore records (§3.8).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from lambda_emulator.state.config import EmulatorConfig
from lambda_emulator.state.extensions import Agent
from lambda_emulator.state.measurements import InitRecord, RestoreRecord
from lambda_emulator.state.runtime import Invocation
from lambda_emulator.telemetry.hub import iso

LMI_HOST_GROUP: Final = "lambda-emulator-host-group"


def init_start(config: EmulatorConfig, instance_id: str, phase: str) -> dict[str, Any]:
    record = {
        "initializationType": config.rules.init_type,
        "phase": phase,
        "runtimeVersion": config.runtime.version,
        "functionName": config.function_name,
        "functionVersion": config.function_version,
        "instanceId": instance_id,
        "instanceMaxMemory": config.memory_mb * 1024 * 1024,
    }
    if config.mode == "lmi":
        record["hostGroup"] = LMI_HOST_GROUP
    return record


def init_runtime_done(config: EmulatorConfig, record: InitRecord) -> dict[str, Any]:
    init_type = config.rules.init_type
    done: dict[str, Any] = {"initializationType": init_type, "phase": record.phase, "status": record.status}
    if record.error_type:
        done["errorType"] = record.error_type
    return done


def init_report(config: EmulatorConfig, record: InitRecord) -> dict[str, Any]:
    return {**init_runtime_done(config, record), "metrics": {"durationMs": record.duration_ms}}


def extension(agent: Agent) -> dict[str, Any]:
    record: dict[str, Any] = {"name": agent.name, "state": agent.state, "events": sorted(agent.events)}
    if agent.error_type:
        record["errorType"] = agent.error_type
    return record


def start(config: EmulatorConfig, invocation: Invocation) -> dict[str, Any]:
    record: dict[str, Any] = {"requestId": invocation.request_id, "version": config.function_version}
    if config.mode == "lmi":
        record["functionArn"] = invocation.function_arn
    record["tracing"] = {"type": "X-Amzn-Trace-Id", "value": invocation.trace_id}
    return record


def restore_start(config: EmulatorConfig, instance_id: str) -> dict[str, Any]:
    return {
        "functionName": config.function_name,
        "functionVersion": config.function_version,
        "instanceId": instance_id,
        "instanceMaxMemory": config.memory_mb * 1024 * 1024,
        "runtimeVersion": config.runtime.version,
    }


def restore_runtime_done(record: RestoreRecord) -> dict[str, Any]:
    done: dict[str, Any] = {"status": record.status}
    if record.error_type:
        done["errorType"] = record.error_type
    return done


def restore_report(record: RestoreRecord) -> dict[str, Any]:
    return {**restore_runtime_done(record), "metrics": {"durationMs": record.duration_ms}}


def span(name: str, start_wall: float, duration_ms: float) -> dict[str, Any]:
    start = datetime.fromtimestamp(start_wall, UTC)
    return {"name": name, "start": iso(start), "durationMs": round(max(0.0, duration_ms), 3)}


def wall_of(monotonic_at: float, now_monotonic: float, now_wall: float) -> float:
    return now_wall - (now_monotonic - monotonic_at)
