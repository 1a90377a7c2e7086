"""Telemetry API events at the wire edge: split a POSTed batch into its events, each kept as Lambda sent it.

Lambda POSTs a JSON array of `{"time", "type", "record"}` objects (lambda-api.md §2.2, §3). Each event is stored
as the text it arrived as, never decoded and re-encoded: a re-encoder would turn an integer beyond 64 bits into
a float, or refuse a string holding a lone surrogate escape (an emoji cut in half by a function's log) and lose
the whole batch. The only change made is to line breaks between tokens (never inside strings, where JSON forbids
them raw), which become spaces so that every event is one NDJSON line.

Splitting: the JSON scanner (`jsontext`) reads the array element by element, each from where the last ended, so
an element's text is exactly the span it was read from, and each element is read once. A body that does not read
cleanly that way (a broken element, or bytes that are not UTF-8) goes to a tokenizer that skips strings and
finds every element's span; then each element is read on its own, so one bad element costs itself only: it is
counted in `malformed`.
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.jsontext import JsonError, loads, scan
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from typing import Final

REPORT: Final = "platform.report"
LOGS_DROPPED: Final = "platform.logsDropped"
RESTORE_START: Final = "platform.restoreStart"
_TOKENS: Final = rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]'
"""A string (skipped whole) or one of the array's punctuation marks; `re` is imported when first needed (a body
that does not read cleanly: rare), not at start-up."""
_WHITESPACE: Final = b" \t\r\n"
_BLANKS: Final = " \t\r\n"


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
        before = _collect(_read_each(list(self.lines[:index])), line_breaks=False)
        after = _collect(_read_each(list(self.lines[index:])), line_breaks=False)
        return _with_malformed(before, self.malformed), after


UNPARSABLE: Final = DecodedBatch(lines=(), malformed=1, lambda_dropped_records=0, report_request_ids=())


def decode_batch(body: bytes) -> DecodedBatch:
    """Decode one POST body. Never raises: what cannot be read is counted in `malformed`."""
    elements = _read_array(body)
    if elements is None:
        spans = split_array(body)
        if spans is None:
            return UNPARSABLE
        elements = _read_each(spans)
    return _collect(elements, line_breaks=b"\n" in body or b"\r" in body)


Element = tuple[bytes, object]
"""An element's text, and its value (None if it is not JSON)."""


def _read_array(body: bytes) -> list[Element] | None:
    """Every element of the array `body`, read in one pass; None if it does not read cleanly (then the tokenizer
    decides). The hot path of the listener: one scan per element, a few µs an event."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    ascii_only = body.isascii()  # then a character's index is its byte's: the element is a slice of `body`
    end, size = _skip(text, 0), len(text)
    if end == size or text[end] != "[":
        return None
    elements: list[Element] = []
    index = _skip(text, end + 1)
    if index < size and text[index] == "]":
        return elements if _skip(text, index + 1) == size else None
    while index < size:
        try:
            value, end = scan(text, index)
        except (StopIteration, ValueError):
            return None
        elements.append((body[index:end] if ascii_only else text[index:end].encode("utf-8"), value))
        mark = text[end : end + 1]
        if mark in _BLANKS and mark:  # compact JSON, as Lambda sends it, has none: no call to _skip then
            end = _skip(text, end)
            mark = text[end : end + 1]
        if mark == ",":
            index = end + 1
            if text[index : index + 1] in _BLANKS:
                index = _skip(text, index)
        elif mark == "]":
            return elements if _skip(text, end + 1) == size else None
        else:
            return None
    return None


def _skip(text: str, index: int) -> int:
    """The index of the first character at or after `index` that is not JSON whitespace."""
    size = len(text)
    while index < size and text[index] in _BLANKS:
        index += 1
    return index


def _read_each(spans: list[bytes]) -> list[Element]:
    elements: list[Element] = []
    for raw in spans:
        try:
            elements.append((raw, loads(raw)))
        except JsonError:
            elements.append((raw, None))
    return elements


def _collect(elements: list[Element], *, line_breaks: bool) -> DecodedBatch:
    """The batch of `elements`: the JSON objects kept (each as one line), the rest counted as malformed.
    `line_breaks`: whether an element may hold a line break (between tokens), which then becomes a space."""
    lines: list[bytes] = []
    reports: list[str] = []
    types: set[str] = set()
    malformed = dropped = 0
    restore_index: int | None = None
    for raw, event in elements:
        if type(event) is not dict:
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
    if line_breaks:  # between tokens only (JSON forbids them raw in strings): each event must stay one line
        lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    return DecodedBatch(tuple(lines), malformed, dropped, tuple(reports), frozenset(types), restore_index)


def _with_malformed(decoded: DecodedBatch, malformed: int) -> DecodedBatch:
    return DecodedBatch(
        decoded.lines, malformed, decoded.lambda_dropped_records, decoded.report_request_ids, decoded.types
    )


def split_array(body: bytes) -> list[bytes] | None:
    """The raw elements of a JSON array (whitespace around them removed), or None if `body` is not one.
    Strings are skipped whole, so brackets and commas inside them do not count."""
    text = body.strip(_WHITESPACE)
    if not (text.startswith(b"[") and text.endswith(b"]")):
        return None
    import re

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
