"""The extension's own JSON, URLs and digests, against the standard library's reference implementations."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import quote as stdlib_quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry_ext.jsontext import JsonError, dumps, loads
from telemetry_ext.pipeline.digests import hmac_sha256, sha256
from telemetry_ext.urls import Url, quote, split_url

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_what_dumps_writes_loads_reads_back_and_json_agrees(value: object) -> None:
    text = dumps(value)
    assert text.isascii()
    assert loads(text) == json.loads(text) == value


@pytest.mark.parametrize(
    "document", [b'"\\ud83d"', b" [1, 2] ", b"123456789012345678901234567890", '{"é": 1}'.encode()]
)
def test_loads_reads_what_json_grammar_allows_as_python_does(document: bytes) -> None:
    assert loads(document) == json.loads(document)


@pytest.mark.parametrize("document", [b"NaN", b'{"a": Infinity}', b'{"a": 1} x', b"", b"{", b"\xff", b"[1,]"])
def test_loads_refuses_what_is_not_one_json_document(document: bytes) -> None:
    with pytest.raises(JsonError):
        loads(document)


def test_urls_are_split_with_their_default_ports_and_targets() -> None:
    assert split_url("http://127.0.0.1:9000") == Url("http", "127.0.0.1", 9000, "/")
    assert split_url("https://S3.example.com/x?y=1") == Url("https", "s3.example.com", 443, "/x?y=1")
    assert split_url("http://[::1]:8080/creds") == Url("http", "::1", 8080, "/creds")
    assert split_url("http://user@host?q") == Url("http", "host", 80, "/?q")
    for bad in ("ftp://host", "host:80", "http://", "http://host:port/"):
        with pytest.raises(ValueError):
            split_url(bad)


@given(st.text())
def test_quote_percent_encodes_as_urllib_does(text: str) -> None:
    assert quote(text, "/-_.~") == stdlib_quote(text, safe="/-_.~")


@given(st.binary(max_size=200), st.binary(max_size=300))
def test_the_digests_are_hashlibs_and_hmacs(key: bytes, message: bytes) -> None:
    assert sha256(message).hexdigest() == hashlib.sha256(message).hexdigest()
    assert hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()
