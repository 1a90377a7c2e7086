"""HTTP/1.1 framing without I/O (telemetry_ext/http/wire.py): heads and bodies taken from a buffer as the bytes
arrive, however a connection cuts them (RFC 9112)."""

from __future__ import annotations

import pytest

from telemetry_ext.http.wire import HEAD_LIMIT, Body, Framing, HttpError, take_head


def head(*fields: str, start: str = "POST / HTTP/1.1") -> bytes:
    return ("\r\n".join([start, *fields]) + "\r\n\r\n").encode()


def fed_byte_by_byte(body: Body, data: bytes) -> tuple[bool, bytearray]:
    """Feed `data` one byte at a time, as the slowest connection would: (done, what is left in the buffer)."""
    buffer = bytearray()
    done = False
    for byte in data:
        buffer.append(byte)
        done = body.take(buffer, False)
        if done:
            break
    return done, buffer


def test_a_head_is_taken_once_complete_and_only_then() -> None:
    buffer = bytearray(b"POST / HTTP/1.1\r\nHost: x\r\n")
    assert take_head(buffer) is None and len(buffer) == 26
    buffer += b"\r\nbody"
    assert take_head(buffer) == b"POST / HTTP/1.1\r\nHost: x\r\n\r\n" and buffer == b"body"


def test_a_head_without_an_end_within_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="no end of head"):
        take_head(bytearray(b"X" * (HEAD_LIMIT + 1)))


def test_the_framing_fields_are_read_whatever_their_case_and_order() -> None:
    framing = Framing(head("host: a", "EXPECT: 100-Continue", "Content-LENGTH:  12 ", "Connection: Keep-Alive"))
    assert framing.start == ["POST", "/", "HTTP/1.1"]
    assert (framing.length, framing.chunked, framing.expect_continue) == (12, False, True)
    assert framing.keep_alive()


@pytest.mark.parametrize(
    ("fields", "version", "keep_alive"),
    [((), "HTTP/1.1", True), (("Connection: close",), "HTTP/1.1", False), ((), "HTTP/1.0", False),
     (("Connection: keep-alive",), "HTTP/1.0", True), (("Connection: Upgrade, close",), "HTTP/1.1", False)],
)  # fmt: skip
def test_keep_alive_follows_the_version_and_the_connection_field(
    fields: tuple[str, ...], version: str, keep_alive: bool
) -> None:
    assert Framing(head(*fields, start=f"POST / {version}")).keep_alive() is keep_alive


def test_repeated_equal_lengths_stand_and_differing_ones_are_refused() -> None:
    assert Framing(head("Content-Length: 5", "Content-Length: 5")).length == 5
    with pytest.raises(ValueError, match="bad Content-Length"):
        Framing(head("Content-Length: 5", "Content-Length: 6"))
    with pytest.raises(ValueError, match="bad Content-Length"):
        Framing(head("Content-Length: -1"))


def test_a_length_framed_body_is_complete_at_its_length_and_leaves_the_next_message() -> None:
    body = Body(Framing(head("Content-Length: 5")), until_close=False)
    done, left = fed_byte_by_byte(body, b"hello")
    assert done and body.value == b"hello" and left == b""
    buffer = bytearray(b"helloPOST")
    assert Body(Framing(head("Content-Length: 5")), until_close=False).take(buffer, False) and buffer == b"POST"


def test_a_chunked_body_split_at_every_byte_with_extensions_and_trailers() -> None:
    body = Body(Framing(head("Transfer-Encoding: gzip, chunked")), until_close=False)
    done, left = fed_byte_by_byte(body, b"5;name=x\r\n[1,2]\r\n1\r\n]\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n")
    assert done and body.value == b"[1,2]]" and left == b""


def test_a_chunk_not_followed_by_its_crlf_is_refused() -> None:
    with pytest.raises(ValueError, match="CRLF"):
        Body(Framing(head("Transfer-Encoding: chunked")), until_close=False).take(bytearray(b"2\r\nabXY"), False)


def test_over_the_cap_the_body_is_read_to_its_end_and_thrown_away() -> None:
    body = Body(Framing(head("Content-Length: 10")), until_close=False, cap=4)
    buffer = bytearray(b"0123456789NEXT")
    assert body.take(buffer, False) and body.over_cap and body.value == b"" and buffer == b"NEXT"


def test_a_response_without_length_runs_to_the_end_of_the_connection_a_request_has_none() -> None:
    response = Body(Framing(head(start="HTTP/1.1 200 OK")), until_close=True)
    buffer = bytearray(b"partial")
    assert not response.take(buffer, False)
    buffer += b" rest"
    assert response.take(buffer, True) and response.value == b"partial rest"
    assert Body(Framing(head()), until_close=False).take(bytearray(b"POST"), False)


def test_the_peer_closing_in_the_middle_of_a_body_is_an_error() -> None:
    with pytest.raises(HttpError, match="in the middle"):
        Body(Framing(head("Content-Length: 10")), until_close=False).take(bytearray(b"short"), True)
