"""The tests' exactly-once check compares counts: two identical emissions must be stored twice."""

from __future__ import annotations

import pytest

from tests.support.exactly_once import Tally, assert_every_event_once

LINE = {"time": "2026-12-01T10:00:03.744Z", "type": "function", "record": "\n"}
REPORT = {"time": "2026-12-01T10:00:03.900Z", "type": "platform.report", "record": {"requestId": "r-1"}}
OWN = {"time": "2026-12-01T10:00:04.000Z", "type": "extension", "record": "telemetry-ext shutdown ...\n"}


def test_an_event_emitted_twice_and_stored_twice_is_once_each() -> None:
    tally = assert_every_event_once([LINE, LINE, REPORT], [REPORT, LINE, LINE])
    assert tally.duplicates == 0 and tally.missing() == []


def test_an_event_emitted_twice_and_stored_once_is_missing_once() -> None:
    tally = Tally([LINE, LINE, REPORT], [LINE, REPORT])
    assert tally.missing() == [LINE] and tally.duplicates == 0
    with pytest.raises(AssertionError, match="emitted, not stored"):
        assert_every_event_once([LINE, LINE, REPORT], [LINE, REPORT])


def test_an_event_emitted_once_and_stored_twice_is_a_duplicate_named_with_its_objects() -> None:
    tally = Tally([LINE], [LINE, LINE])
    assert tally.duplicates == 1
    (described,) = tally.describe_duplicates({"a.ndjson.gz": [LINE], "b.ndjson.gz": [LINE]})
    assert "emitted 1, stored 2" in described and "a.ndjson.gz" in described and "b.ndjson.gz" in described


def test_the_extensions_own_lines_may_be_unwritten_but_never_doubled() -> None:
    assert_every_event_once([OWN, REPORT], [REPORT])
    with pytest.raises(AssertionError, match="stored more often"):
        assert_every_event_once([OWN, REPORT], [REPORT, OWN, OWN])


def test_an_event_never_emitted_is_a_duplicate() -> None:
    assert Tally([REPORT], [REPORT, LINE]).duplicates == 1
