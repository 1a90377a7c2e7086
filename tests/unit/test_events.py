"""Decoding recorded Telemetry API payloads: one fixture file per event type (lambda-api.md §3)."""

from pathlib import Path

import orjson
import pytest

from telemetry_ext.events import UNPARSABLE, decode_batch

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "telemetry").glob("*.json"))


def test_there_is_a_fixture_for_every_documented_event_type() -> None:
    names = {p.name.removesuffix(".json") for p in FIXTURES}
    for kind in (
        "initStart",
        "initRuntimeDone",
        "initReport",
        "start",
        "runtimeDone",
        "report",
        "extension",
        "telemetrySubscription",
        "logsDropped",
        "restoreStart",
        "restoreRuntimeDone",
        "restoreReport",
    ):
        assert f"platform.{kind}" in names
    assert {"function.text", "function.json", "extension.text", "extension.json", "unknown.future-type"} <= names


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_recorded_event_is_kept_as_received(path: Path) -> None:
    body = path.read_bytes()
    decoded = decode_batch(body)
    assert decoded.malformed == 0
    assert [orjson.loads(line) for line in decoded.lines] == orjson.loads(body)


def test_report_request_ids_and_lambda_drops_are_read() -> None:
    report = orjson.loads((FIXTURES[0].parent / "platform.report.json").read_bytes())
    dropped = orjson.loads((FIXTURES[0].parent / "platform.logsDropped.json").read_bytes())
    decoded = decode_batch(orjson.dumps(report + dropped + dropped))
    assert decoded.report_request_ids == ("4b142fc3-17b8-4cdb-a46b-a8dbe7918715",)
    assert decoded.lambda_dropped_records == 246


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"type": "platform.start"}', b"42", b"\xff\xfe\x00garbage", b""],
    ids=["invalid-json", "object-not-array", "number", "not-utf8", "empty"],
)
def test_an_unreadable_body_is_counted_not_raised(body: bytes) -> None:
    assert decode_batch(body) == UNPARSABLE


def test_items_that_are_not_objects_are_counted_and_the_rest_kept() -> None:
    decoded = decode_batch(b'[1, {"time": "t", "type": "function", "record": "x"}, "s", {"no": "fields"}]')
    assert decoded.malformed == 2
    assert len(decoded.lines) == 2  # an object with missing fields is still kept as received
