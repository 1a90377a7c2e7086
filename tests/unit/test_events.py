"""Decoding recorded Telemetry API payloads: one fixture file per event type (lambda-api.md §3)."""

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- lossless: each event is stored as the bytes Lambda sent ---------------------------------------------------


def test_an_integer_beyond_64_bits_is_kept_as_sent() -> None:
    body = b'[{"time":"t","type":"function","record":{"n":12345678901234567890123,"f":1e-7}}]'
    assert decode_batch(body).lines == (body[1:-1],)


def test_a_lone_surrogate_escape_costs_nothing_and_its_neighbours_are_kept() -> None:
    # GIVEN 40 events and one whose string holds half an emoji (a JavaScript function's log cut mid-character)
    events = [b'{"time":"t","type":"function","record":"line %d"}' % n for n in range(40)]
    events.insert(20, b'{"time":"t","type":"function","record":"half \\ud83d an emoji"}')
    decoded = decode_batch(b"[" + b",".join(events) + b"]")
    # THEN all 41 are kept, byte for byte, and none is counted as malformed
    assert decoded.lines == tuple(events) and decoded.malformed == 0


def test_one_broken_element_costs_only_itself() -> None:
    good = b'{"time":"t","type":"function","record":"ok"}'
    decoded = decode_batch(b"[" + good + b',{"type":"function","record":NaN},' + good + b"]")
    assert decoded.lines == (good, good) and decoded.malformed == 1


def test_separators_inside_strings_do_not_split_an_event() -> None:
    tricky = b'{"time":"t","type":"function","record":"a},{\\"b\\":[1,]} \\\\"}'
    other = b'{"time":"t","type":"platform.start","record":{"requestId":"r"}}'
    assert decode_batch(b"[" + tricky + b"," + other + b"]").lines == (tricky, other)


def test_objects_in_an_array_inside_an_event_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """platform.runtimeDone's spans hold `},{` in every invoke: the compact split's pieces are joined where they do
    not parse, not handed to the tokenizer (~0.1 ms a batch)."""
    spans = b'[{"name":"responseLatency","durationInMs":1.0},{"name":"responseDuration","durationInMs":0.1}]'
    done = b'{"time":"t","type":"platform.runtimeDone","record":{"requestId":"r","spans":' + spans + b"}}"
    report = b'{"time":"t","type":"platform.report","record":{"requestId":"r"}}'

    def tokenizer(body: bytes) -> None:
        raise AssertionError("the tokenizer was used")

    monkeypatch.setattr("telemetry_ext.events.split_array", tokenizer)
    decoded = decode_batch(b"[" + done + b"," + report + b"]")
    assert decoded.lines == (done, report) and decoded.report_request_ids == ("r",)


def test_whitespace_between_tokens_is_kept_but_line_breaks_become_spaces() -> None:
    decoded = decode_batch(b'[\n  {"time": "t",\r\n   "type": "function", "record": "x\\ny"}\n]\n')
    assert decoded.lines == (b'{"time": "t",     "type": "function", "record": "x\\ny"}',)
    assert orjson.loads(decoded.lines[0])["record"] == "x\ny"


def test_a_restore_is_located_and_a_batch_split_there() -> None:
    body = b'[{"type":"platform.initReport","record":{}},{"type":"platform.restoreStart","record":{}},' \
           b'{"type":"platform.report","record":{"requestId":"r1"}},7]'  # fmt: skip
    decoded = decode_batch(body)
    assert decoded.restore_index == 1
    before, after = decoded.split(1)
    assert before.types == {"platform.initReport"} and before.malformed == 1
    assert after.types == {"platform.restoreStart", "platform.report"} and after.report_request_ids == ("r1",)
    assert after.malformed == 0 and before.lines + after.lines == decoded.lines


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=5), max_size=8), st.booleans())
def test_any_array_of_objects_splits_into_exactly_its_elements(events: list[dict[str, object]], compact: bool) -> None:
    """Whatever Lambda sends, compact (Go's encoder) or spaced, each stored line is its element's own bytes."""
    separator = ", " if not compact else ","
    encoded = [json.dumps(e, separators=(separator, ":" if compact else ": "), ensure_ascii=compact) for e in events]
    body = ("[" + separator.join(encoded) + "]").encode()
    decoded = decode_batch(body)
    assert decoded.malformed == 0
    assert decoded.lines == tuple(e.encode() for e in encoded)
