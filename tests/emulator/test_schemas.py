"""Each subscriber gets records in the schema it subscribed with (2022-07-01, 2022-12-13, 2025-01-29), each
compared by shape with a recorded fixture (fixtures/README.md); deliveries carry `Host` as subscribed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lambda_emulator import Emulator
from lambda_emulator.telemetry.schemas import shaped
from tests.emulator.harness import environment, fixture, seen, shape

SCHEMAS = ["2022-07-01", "2022-12-13", "2025-01-29"]
NOT_EMULATED = ("runtimeVersionArn",)  # no runtime version ARN to give


def expected_shape(name: str) -> Any:
    expected = shape(fixture(name))
    if isinstance(expected, dict):
        for key in NOT_EMULATED:
            expected.pop(key, None)
    return expected


@pytest.mark.integration
@pytest.mark.parametrize("schema", SCHEMAS)
async def test_a_subscriber_gets_the_records_of_its_schema(tmp_path: Path, schema: str) -> None:
    # GIVEN an extension subscribed with `schema`, and a function whose logs are JSON (LogFormat=JSON)
    config, out = environment(tmp_path, extra_env={"MINIMAL_SCHEMA": schema}, log_format="JSON")
    async with Emulator(config) as emulator:
        # WHEN it runs through init and an invoke that logs a line
        await emulator.start()
        await emulator.invoke(b'{"log_lines": 1}')
        await emulator.shutdown()
    recorded = seen(out)
    by_type = {e["type"]: e["record"] for e in recorded.telemetry if e["type"].startswith("platform.init")}
    logged = [e["record"] for e in recorded.telemetry if e["type"] == "function" and "log line 0" in str(e["record"])]
    # THEN its init records and its function log record have its schema's shape
    assert shape(by_type["platform.initStart"]) == expected_shape(f"{schema}.platform.initStart")
    assert shape(by_type["platform.initReport"]) == expected_shape(f"{schema}.platform.initReport")
    assert [shape(record) for record in logged] == [expected_shape(f"{schema}.function")]
    # and every delivery named the host it subscribed to
    (listener,) = recorded.of("listening")
    assert set(recorded.of("telemetry_host")) == {f"sandbox.localdomain:{listener['port']}"}


NEWEST_INIT_START = {
    "initializationType": "lambda-managed-instances", "phase": "init", "runtimeVersion": "python:3.13",
    "functionName": "f", "functionVersion": "$LATEST", "instanceId": "i", "instanceMaxMemory": 2**31,
    "hostGroup": "g",
}  # fmt: skip


@pytest.mark.parametrize(
    ("schema", "keys"),
    [
        ("2025-01-29", set(NEWEST_INIT_START)),
        ("2022-12-13", set(NEWEST_INIT_START) - {"hostGroup"}),
        ("2022-07-01", {"initializationType", "phase"}),
    ],
)
def test_init_start_keeps_the_fields_of_each_schema(schema: str, keys: set[str]) -> None:
    event = {"time": "t", "type": "platform.initStart", "record": NEWEST_INIT_START}
    assert set(shaped(event, None, schema)["record"]) == keys
    assert event["record"] == NEWEST_INIT_START  # the emitted event itself is never changed


def test_a_failed_init_report_has_no_status_nor_error_type_under_2022_07_01() -> None:
    record = {"initializationType": "on-demand", "phase": "invoke", "status": "error",
              "errorType": "Extension.Crash", "metrics": {"durationMs": 3.2}}  # fmt: skip
    event = {"time": "t", "type": "platform.initReport", "record": record}
    assert shaped(event, None, "2022-07-01")["record"] == {
        "initializationType": "on-demand", "phase": "invoke", "metrics": {"durationMs": 3.2},
    }  # fmt: skip
    assert shaped(event, None, "2022-12-13") is event


def test_a_json_log_record_is_its_line_under_2022_07_01() -> None:
    line = '{"timestamp": "t", "level": "INFO", "message": "hello"}\n'
    event = {"time": "t", "type": "extension", "record": {"timestamp": "t", "level": "INFO", "message": "hello"}}
    assert shaped(event, line, "2022-07-01")["record"] == line
    assert shaped(event, line, "2022-12-13")["record"] == event["record"]
