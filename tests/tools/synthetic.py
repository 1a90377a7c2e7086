"""Generated objects in the extension's layout, for cases a local run cannot produce (SnapStart restores,
Lambda Managed Instances, 10,000 invocations for the benchmark, 30,000 object records then a string).

Each environment (instance) gets a cold start, then its invocations; a batch object holds `per_object`
invocations' events after its metadata line, under `<prefix>/function=<f>/dt=.../hour=.../<instance>-<seq>`.
Durations are deterministic functions of the invocation number, so the expected figures can be computed.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

START = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Shape:
    functions: int = 1
    invocations: int = 100
    """Per function."""
    per_environment: int = 50
    per_object: int = 25
    memory_mb: int = 128
    mode: str = "on-demand"
    """on-demand, snap-start (restores replaying the snapshot's init) or managed (LMI: report durationMs only)."""
    log_lines: int = 1


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration_ms(n: int) -> float:
    return round(500 + (n % 97) * 0.37, 3)


def post_runtime_ms(n: int) -> float:
    return round(0.1 + (n % 13) * 0.05, 3)


def init_ms(environment: int) -> float:
    return round(300 + environment * 7.5, 3)


def write(folder: Path, shape: Shape, prefix: str = "telemetry") -> int:
    """Write the objects; returns how many."""
    count = 0
    for function in range(shape.functions):
        name = f"fn-{function}"
        for environment, invocations in enumerate(_environments(shape)):
            count += _write_environment(folder, prefix, name, environment, invocations, shape)
    return count


def _environments(shape: Shape) -> Iterator[range]:
    for first in range(0, shape.invocations, shape.per_environment):
        yield range(first, min(shape.invocations, first + shape.per_environment))


def _write_environment(folder: Path, prefix: str, name: str, environment: int, numbers: range, shape: Shape) -> int:
    instance = f"{name}-env{environment:05d}"
    moment = START + timedelta(minutes=environment)
    events = _init_events(name, environment, moment, shape)
    written = 0
    batch: list[dict[str, Any]] = events
    for index, n in enumerate(numbers):
        batch += _invoke_events(n, moment + timedelta(seconds=index + 1), shape)
        if (index + 1) % shape.per_object == 0 or n == numbers[-1]:
            _write_object(folder, prefix, name, instance, written, batch, moment)
            written, batch = written + 1, []
    return written


def _init_events(name: str, environment: int, moment: datetime, shape: Shape) -> list[dict[str, Any]]:
    init_type = (
        "snap-start" if shape.mode == "snap-start" else shape.mode.replace("managed", "lambda-managed-instances")
    )
    record = {"initializationType": init_type, "phase": "init", "status": "success"}
    events = [
        {"time": iso(moment), "type": "platform.initStart", "record": {**record, "functionName": name}},
        {
            "time": iso(moment),
            "type": "platform.initReport",
            "record": {**record, "metrics": {"durationMs": init_ms(0 if shape.mode == "snap-start" else environment)}},
        },
    ]
    if shape.mode == "snap-start":
        events += [
            {"time": iso(moment), "type": "platform.restoreStart", "record": {"functionName": name}},
            {
                "time": iso(moment),
                "type": "platform.restoreReport",
                "record": {"status": "success", "metrics": {"durationMs": round(20 + environment, 3)}},
            },
        ]
    return events


def _invoke_events(n: int, moment: datetime, shape: Shape) -> list[dict[str, Any]]:
    request = f"req-{n:08d}"
    start = {"time": iso(moment), "type": "platform.start", "record": {"requestId": request, "version": "$LATEST"}}
    logs = [
        {"time": iso(moment), "type": "function", "record": f"log line {i} of {request}\n"}
        for i in range(shape.log_lines)
    ]
    total, post = duration_ms(n), post_runtime_ms(n)
    if shape.mode == "managed":
        lmi = {"requestId": request, "status": "success", "metrics": {"durationMs": total}}
        return [start, *logs, {"time": iso(moment), "type": "platform.report", "record": lmi}]
    done = {
        "requestId": request,
        "status": "success",
        "metrics": {"durationMs": round(total - post, 3), "producedBytes": 12},
    }
    report: dict[str, Any] = {
        "requestId": request,
        "status": "success",
        "metrics": {
            "durationMs": total,
            "billedDurationMs": int(total) + 1,
            "memorySizeMB": shape.memory_mb,
            "maxMemoryUsedMB": 40 + n % 7,
        },
        "spans": [{"name": "extensionOverhead", "start": iso(moment), "durationMs": post}],
    }
    return [
        start,
        *logs,
        {"time": iso(moment), "type": "platform.runtimeDone", "record": done},
        {"time": iso(moment), "type": "platform.report", "record": report},
    ]


def _write_object(
    folder: Path, prefix: str, name: str, instance: str, sequence: int, events: list[dict[str, Any]], moment: datetime
) -> None:
    header = {
        "time": iso(moment),
        "type": "telemetry_ext.batch",
        "record": {
            "extensionVersion": "test",
            "functionName": name,
            "functionVersion": "$LATEST",
            "instanceId": instance,
            "sequence": sequence,
            "events": len(events),
            "counters": {
                "received": 0,
                "written": 0,
                "dropped": 0,
                "lambda_dropped": 0,
                "parse_failures": 0,
                "retries": 0,
                "objects": sequence,
            },
        },
    }
    key = f"{prefix}/function={name}/dt={moment:%Y-%m-%d}/hour={moment:%H}/{instance}-{sequence:08d}.ndjson.gz"
    path = folder / key
    path.parent.mkdir(parents=True, exist_ok=True)
    body = b"\n".join(orjson.dumps(line) for line in [header, *events]) + b"\n"
    path.write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
