"""JSON in and out, with the interpreter's own C scanner (`_json`) and nothing imported around it.

Why not orjson, or the `json` package: start-up. Importing orjson imports datetime, uuid (with platform),
dataclasses (with inspect, ast, dis, tokenize), enum and json (with re) to learn their types: about 25 ms of CPU
on a full core, more than the rest of the extension's init, and ~350 ms of a cold start at 128 MB. `json`
compiles regular expressions at import. Decoding is slower per event here (about 3 µs for a platform.report,
1 µs for a log line, against orjson's 1.1 and 0.4: scripts/bench/ingest.py), a few µs per invoke.

`loads` accepts what JSON's grammar allows, a lone surrogate escape (an emoji cut in half by a function's log)
included, as Python's and Go's decoders do; NaN and Infinity are not JSON and are refused. `dumps` writes the
few documents the extension sends (requests to the Lambda API, the metadata line of a batch): ASCII, compact.
"""

from __future__ import annotations

import _json

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Final


class JsonError(ValueError):
    """Not one JSON document."""


class _Options:
    """What the C scanner reads from its context (json.JSONDecoder's attributes)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> object:
        raise JsonError(f"{name} is not JSON")


scan = _json.make_scanner(_Options())  # type: ignore[arg-type]  # a context with the attributes it reads
"""`scan(text, index)`: the value that starts at `index` and the index after it; StopIteration if none starts
there, ValueError (json's JSONDecodeError) if it is broken."""
_WHITESPACE: Final = " \t\n\r"


def loads(data: bytes | str) -> Any:
    """The value of one JSON document; JsonError if `data` is not one (UTF-8 if bytes)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        start = len(text) - len(text.lstrip(_WHITESPACE))
        value, end = scan(text, start)
    except StopIteration:
        raise JsonError("no JSON value") from None
    except ValueError as error:  # a UnicodeDecodeError, json's JSONDecodeError, or a refused constant
        raise JsonError(str(error)) from None
    if text[end:].strip(_WHITESPACE):
        raise JsonError(f"extra data after the value at {end}")
    return value


def dumps(value: object) -> bytes:
    """Compact ASCII JSON of dicts (string keys), lists, tuples, strings, integers, floats, booleans and None."""
    return _text(value).encode("ascii")


def _text(value: object) -> str:
    if isinstance(value, str):
        return str(_json.encode_basestring_ascii(value))
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_text(str(k))}:{_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_text(item) for item in value) + "]"
    raise TypeError(f"not JSON: {type(value).__name__}")
