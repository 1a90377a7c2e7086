"""Telemetry API events at the wire edge: split a POSTed batch into its events, each kept as Lambda sent it.

Lambda POSTs a JSON array of `{"time", "type", "record"}` objects (lambda-api.md §2.2, §3). Each event is stored
as the bytes it arrived as, never decoded and re-encoded: a re-encoder would turn an integer beyond 64 bits into
a float, or refuse a string holding a lone surrogate escape (an emoji cut in half by a function's log) and lose
the whole batch. The only change made is to line breaks between tokens (never inside strings, where JSON forbids
them raw), which become spaces so that every event is one NDJSON line.

Splitting: Lambda sends compact JSON, so the elements of a batch are separated by `},{`; that split is tried
first. A `},{` inside an element (between the objects of `platform.runtimeDone`'s `spans`, or in a string) leaves
a piece that does not parse; it is joined to the next until the whole parses, which is where the element ends
(a JSON object that parses whole cannot be the start of a longer one). If that fails, a tokenizer that skips
strings finds the elements. Each element is parsed on its own (orjson, then the standard library for what orjson
refuses, such as a lone surrogate escape), so one bad element costs itself only: it is counted in `malformed`.
"""

from __future__ import annotations

import re

import orjson

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from typing import Final

REPORT: Final = "platform.report"
LOGS_DROPPED: Final = "platform.logsDropped"
RESTORE_START: Final = "platform.restoreStart"
_TOKENS: Final = rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]'
"""A string (skipped whole) or one of the array's punctuation marks; compiled by `re` when first used."""
_WHITESPACE: Final = b" \t\r\n"
MAX_JOINS: Final = 16
"""Pieces joined into one element before the tokenizer is used instead (each join parses the element again)."""


class DecodedBatch(Record):
    """What one POST body held.

    `lines`: every event that is a JSON object, as received, one line each. `malformed`: 1 when the body
    itself is not a JSON array, else the number of elements that are not JSON objects. `lambda_dropped_records`:
    the sum of `droppedRecords` over `platform.logsDropped` events. `report_request_ids`: the request ids of the
    `platform.report` events. `types`: every event type in the batch. `restore_index`: the position in `lines`
    of the first `platform.restoreStart` (a SnapStart restore), if any.
    """

    def __init__(
        self,
        lines: tuple[bytes, ...],
        malformed: int,
        lambda_dropped_records: int,
        report_request_ids: tuple[str, ...],
        types: frozenset[str] = frozenset(),
        restore_index: int | None = None,
    ) -> None:
        self.lines = lines
        self.malformed = malformed
        self.lambda_dropped_records = lambda_dropped_records
        self.report_request_ids = report_request_ids
        self.types = types
        self.restore_index = restore_index

    def split(self, index: int) -> tuple[DecodedBatch, DecodedBatch]:
        """The events before `index` and from it on, each decoded alone (rare: once per restore)."""
        before = _decode(list(self.lines[:index]), strict=False, line_breaks=False)
        after = _decode(list(self.lines[index:]), strict=False, line_breaks=False)
        assert before is not None and after is not None
        return _with_malformed(before, self.malformed), after


UNPARSABLE: Final = DecodedBatch(lines=(), malformed=1, lambda_dropped_records=0, report_request_ids=())


def decode_batch(body: bytes) -> DecodedBatch:
    """Decode one POST body. Never raises: what cannot be read is counted in `malformed`."""
    pieces = _compact_elements(body)
    if pieces is not None:
        decoded = _decode(pieces, strict=True, line_breaks=b"\n" in body or b"\r" in body)
        if decoded is not None:
            return decoded
    elements = split_array(body)
    if elements is None:
        return UNPARSABLE
    decoded = _decode(elements, strict=False, line_breaks=True)
    assert decoded is not None
    return decoded


def _decode(elements: list[bytes], *, strict: bool, line_breaks: bool) -> DecodedBatch | None:
    """The batch of `elements`; when `strict` (pieces of a `},{` split), pieces joined until they parse, and None
    if one is not a JSON object then (the split was wrong).
    `line_breaks`: whether an element may hold a line break (between tokens), which then becomes a space.
    The hot path of the listener (~1 µs an event): one parse per element, and a look at its type."""
    lines: list[bytes] = []
    reports: list[str] = []
    types: set[str] = set()
    malformed = dropped = 0
    restore_index: int | None = None
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    joined, joins = b"", 0
    for piece in elements:
        raw = joined + b"," + piece if joins else piece
        try:
            event = loads(raw)
        except decode_error:
            if strict:  # a piece of a compact split: the element goes on in the next piece (a few times at most)
                joined, joins = raw, joins + 1
                if joins > MAX_JOINS:
                    return None
                continue
            event = _load_leniently(raw)
        joins = 0
        if type(event) is not dict:
            if strict:
                return None
            malformed += 1
            continue
        lines.append(raw)
        kind = event.get("type")
        if kind.__class__ is not str:
            continue
        types.add(kind)
        if kind == REPORT:
            record = event.get("record")
            if isinstance(record, dict) and isinstance(request_id := record.get("requestId"), str):
                reports.append(request_id)
        elif kind == LOGS_DROPPED:
            record = event.get("record")
            if isinstance(record, dict) and isinstance(count := record.get("droppedRecords"), int) and count > 0:
                dropped += count
        elif kind == RESTORE_START and restore_index is None:
            restore_index = len(lines) - 1
    if joins:
        return None
    if line_breaks:  # between tokens only (JSON forbids them raw in strings): each event must stay one line
        lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    return DecodedBatch(tuple(lines), malformed, dropped, tuple(reports), frozenset(types), restore_index)


def _with_malformed(decoded: DecodedBatch, malformed: int) -> DecodedBatch:
    return DecodedBatch(
        decoded.lines, malformed, decoded.lambda_dropped_records, decoded.report_request_ids, decoded.types
    )


def _compact_elements(body: bytes) -> list[bytes] | None:
    """The pieces of `[{...},{...}]` split at every `},{`, or None (measured: a split and a concatenation per
    piece cost 0.3 µs an event, a find-and-slice loop 0.5 µs)."""
    if not (body.startswith(b"[{") and body.endswith(b"}]")):
        return None
    return [b"{" + inner + b"}" for inner in body[2:-2].split(b"},{")]


def split_array(body: bytes) -> list[bytes] | None:
    """The raw elements of a JSON array (whitespace around them removed), or None if `body` is not one.
    Strings are skipped whole, so brackets and commas inside them do not count."""
    text = body.strip(_WHITESPACE)
    if not (text.startswith(b"[") and text.endswith(b"]")):
        return None
    elements: list[bytes] = []
    depth, start = 0, 1
    for token in re.finditer(_TOKENS, text):
        mark = token.group()
        if mark in (b"[", b"{"):
            depth += 1
        elif mark in (b"]", b"}"):
            depth -= 1
            if depth == 0:
                _append_element(elements, text[start : token.start()])
                return elements if token.end() == len(text) else None
        elif mark == b"," and depth == 1:
            elements.append(text[start : token.start()].strip(_WHITESPACE))
            start = token.end()
    return None


def _append_element(elements: list[bytes], raw: bytes) -> None:
    element = raw.strip(_WHITESPACE)
    if element or elements:  # `[]` holds no element; `[1,]` holds an empty (malformed) one
        elements.append(element)


def _load_leniently(raw: bytes) -> object:
    """What orjson refuses but JSON's grammar allows (a lone surrogate escape such as "\\ud83d", which Python's
    and Go's decoders accept). NaN and Infinity are not JSON: refused."""
    import json  # only for the rare batch orjson refuses

    def refuse(constant: str) -> object:
        raise ValueError(constant)

    try:
        return json.loads(raw, parse_constant=refuse)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
