"""The `record` of each platform event, shaped as in lambda-api.md §3 (schema 2022-12-13)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lambda_emulator.extensions_api import Agent
from lambda_emulator.measurements import InitRecord
from lambda_emulator.telemetry import iso

if TYPE_CHECKING:
    from lambda_emulator.environment import Emulator


def init_start(emulator: Emulator, phase: str) -> dict[str, Any]:
    config = emulator.config
    return {
        "initializationType": "on-demand",
        "phase": phase,
        "runtimeVersion": config.runtime.version,
        "functionName": config.function_name,
        "functionVersion": config.function_version,
        "instanceId": emulator.instance_id,
        "instanceMaxMemory": config.memory_mb * 1024 * 1024,
    }


def init_runtime_done(record: InitRecord) -> dict[str, Any]:
    done: dict[str, Any] = {"initializationType": "on-demand", "phase": record.phase, "status": record.status}
    if record.error_type:
        done["errorType"] = record.error_type
    return done


def init_report(record: InitRecord) -> dict[str, Any]:
    return {**init_runtime_done(record), "metrics": {"durationMs": record.duration_ms}}


def extension(agent: Agent) -> dict[str, Any]:
    record: dict[str, Any] = {"name": agent.name, "state": agent.state, "events": sorted(agent.events)}
    if agent.error_type:
        record["errorType"] = agent.error_type
    return record


def span(name: str, start_wall: float, duration_ms: float) -> dict[str, Any]:
    start = datetime.fromtimestamp(start_wall, UTC)
    return {"name": name, "start": iso(start), "durationMs": round(max(0.0, duration_ms), 3)}


def wall_of(monotonic_at: float, now_monotonic: float, now_wall: float) -> float:
    return now_wall - (now_monotonic - monotonic_at)
