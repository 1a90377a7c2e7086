"""The `record` of each platform event, shaped as in lambda-api.md §3 (schemas 2022-12-13 and 2025-01-29).

Per mode: `initializationType` is the mode's init type; LMI's initStart also carries `hostGroup` (New Relic's
extension reads it under schema 2025-01-29; its value here is a placeholder) and LMI's `platform.start` the
`functionArn` (LMI RIE `InvokeStartData`); SnapStart adds the restore records (§3.8).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from lambda_emulator.extensions_api import Agent
from lambda_emulator.measurements import InitRecord, RestoreRecord
from lambda_emulator.runtime_api import Invocation
from lambda_emulator.telemetry import iso

if TYPE_CHECKING:
    from lambda_emulator.config import EmulatorConfig
    from lambda_emulator.environment import Emulator

LMI_HOST_GROUP: Final = "lambda-emulator-host-group"
ACCOUNT_ID: Final = "123456789012"


def instance_id(config: EmulatorConfig) -> str:
    """A log stream name (what Lambda sends as instanceId): date, function[version], a random id."""
    day = time.strftime("%Y/%m/%d", time.gmtime())
    return f"{day}/{config.function_name}[{config.function_version}]{uuid.uuid4().hex}"


def invocation(config: EmulatorConfig, payload: bytes) -> Invocation:
    """A new invocation: its request id, deadline, function ARN and X-Ray trace header."""
    deadline_ms = int((time.time() + config.timeout_s) * 1000)
    arn = f"arn:aws:lambda:{config.region}:{ACCOUNT_ID}:function:{config.function_name}"
    trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"
    return Invocation(str(uuid.uuid4()), payload, deadline_ms, arn, trace)


def init_start(emulator: Emulator, phase: str) -> dict[str, Any]:
    config = emulator.config
    record = {
        "initializationType": config.rules.init_type,
        "phase": phase,
        "runtimeVersion": config.runtime.version,
        "functionName": config.function_name,
        "functionVersion": config.function_version,
        "instanceId": emulator.instance_id,
        "instanceMaxMemory": config.memory_mb * 1024 * 1024,
    }
    if config.mode == "lmi":
        record["hostGroup"] = LMI_HOST_GROUP
    return record


def init_runtime_done(emulator: Emulator, record: InitRecord) -> dict[str, Any]:
    init_type = emulator.config.rules.init_type
    done: dict[str, Any] = {"initializationType": init_type, "phase": record.phase, "status": record.status}
    if record.error_type:
        done["errorType"] = record.error_type
    return done


def init_report(emulator: Emulator, record: InitRecord) -> dict[str, Any]:
    return {**init_runtime_done(emulator, record), "metrics": {"durationMs": record.duration_ms}}


def extension(agent: Agent) -> dict[str, Any]:
    record: dict[str, Any] = {"name": agent.name, "state": agent.state, "events": sorted(agent.events)}
    if agent.error_type:
        record["errorType"] = agent.error_type
    return record


def start(emulator: Emulator, invocation: Invocation) -> dict[str, Any]:
    config = emulator.config
    record: dict[str, Any] = {"requestId": invocation.request_id, "version": config.function_version}
    if config.mode == "lmi":
        record["functionArn"] = invocation.function_arn
    record["tracing"] = {"type": "X-Amzn-Trace-Id", "value": invocation.trace_id}
    return record


def restore_start(emulator: Emulator) -> dict[str, Any]:
    config = emulator.config
    return {
        "functionName": config.function_name,
        "functionVersion": config.function_version,
        "instanceId": emulator.instance_id,
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
