"""Exactly once, by counts: each distinct event is stored as often as Lambda emitted it.

Lambda may emit two identical events (the same time to the millisecond, type and record: a function printing the
same line twice, or two workers of a Managed Instance printing the same line at once); the extension must store
both. So stored events are compared with emitted ones as multisets, never as sets: a set counts two emissions
stored twice as a duplicate, and one of two emissions stored once as complete.

The extension's own lines (`extension` events) are emitted while it runs, up to its summary line after its last
write: they may be missing from S3, never stored more often than emitted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

Event = dict[str, Any]
MAY_BE_UNWRITTEN = frozenset({"extension"})


class Tally:
    """How often each distinct event (its JSON, orjson's encoding) was emitted and stored."""

    def __init__(self, emitted: Iterable[Event], stored: Iterable[Event]) -> None:
        self.emitted = Counter(orjson.dumps(e) for e in emitted)
        self.stored = Counter(orjson.dumps(e) for e in stored)

    @property
    def duplicates(self) -> int:
        """Copies stored beyond what was emitted (an event emitted once and stored twice counts 1)."""
        return sum(max(0, n - self.emitted[e]) for e, n in self.stored.items())

    def missing(self, may_be_unwritten: frozenset[str] = MAY_BE_UNWRITTEN) -> list[Event]:
        """Every emitted copy not in S3 (an event emitted twice and stored once is listed once)."""
        events: list[Event] = []
        for encoded, n in self.emitted.items():
            event = orjson.loads(encoded)
            if event.get("type") not in may_be_unwritten:
                events += [event] * max(0, n - self.stored[encoded])
        return events

    def describe_duplicates(self, by_key: Mapping[str, Iterable[Event]] | None = None) -> list[str]:
        """Each event stored too often: its JSON, times emitted and stored, and the objects that hold it."""
        keys: dict[bytes, list[str]] = {}
        for key, events in (by_key or {}).items():
            for event in events:
                keys.setdefault(orjson.dumps(event), []).append(key)
        return [
            f"{e.decode()}: emitted {self.emitted[e]}, stored {n}" + (f" in {keys.get(e, [])}" if by_key else "")
            for e, n in self.stored.items()
            if n > self.emitted[e]
        ]


def assert_every_event_once(
    emitted: Iterable[Event], stored: Iterable[Event], by_key: Mapping[str, Iterable[Event]] | None = None
) -> Tally:
    """Every emitted event stored as often as it was emitted (the extension's own lines at most that often), and
    nothing stored that was not emitted."""
    tally = Tally(emitted, stored)
    assert tally.describe_duplicates(by_key) == [], "stored more often than emitted"
    assert tally.missing() == [], "emitted, not stored"
    return tally
