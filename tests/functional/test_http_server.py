"""The listener's HTTP/1.1 server over real sockets: what any HTTP/1.1 client may send it (RFC 9112, RFC 9110)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from telemetry_ext.http.server import OkServer
from tests.support.s3 import free_port

Received = list[bytes | None]


@pytest.fixture
async def server() -> AsyncIterator[tuple[OkServer, Received, int]]:
    received: Received = []
    port = free_port()
    ok = OkServer(received.append, max_body=1 << 20)
    await ok.start("127.0.0.1", port)
    yield ok, received, port
    await ok.stop(1.0)


async def read_response(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)


def post(body: bytes, *extra: str, version: str = "HTTP/1.1") -> bytes:
    head = [f"POST / {version}", "Host: sandbox.localdomain", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def test_a_chunked_body_with_trailer_fields_leaves_the_connection_clean_for_the_next_request(
    server: tuple[OkServer, Received, int],
) -> None:
    _, received, port = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    chunked = (
        b"POST / HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\n[1,2]\r\n0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n"
    )
    writer.write(chunked + post(b"[3]"))
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert received == [b"[1,2]", b"[3]"]
    writer.close()


async def test_expect_100_continue_is_answered_before_the_body_is_sent(
    server: tuple[OkServer, Received, int],
) -> None:
    _, received, port = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = post(b"[42]", "Expect: 100-continue")
    head, body = request.split(b"\r\n\r\n", 1)
    writer.write(head + b"\r\n\r\n")
    assert await read_response(reader) == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert received == [b"[42]"]
    writer.close()


async def test_http_1_0_is_closed_after_its_answer_unless_it_asked_to_keep_alive(
    server: tuple[OkServer, Received, int],
) -> None:
    _, received, port = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post(b"[1]", version="HTTP/1.0"))
    answer = await asyncio.wait_for(reader.read(), 5)  # to the end: the server closes the connection
    assert answer.startswith(b"HTTP/1.1 200") and b"Connection: close" in answer
    writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post(b"[2]", "Connection: keep-alive", version="HTTP/1.0"))
    assert b"Connection: keep-alive" in await read_response(reader)
    writer.write(post(b"[3]", "Connection: keep-alive", version="HTTP/1.0"))
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert received == [b"[1]", b"[2]", b"[3]"]
    writer.close()


async def test_pipelined_requests_are_all_answered_in_order(server: tuple[OkServer, Received, int]) -> None:
    _, received, port = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(post(f"[{n}]".encode()) for n in range(3)))
    for _ in range(3):
        assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert received == [b"[0]", b"[1]", b"[2]"]
    writer.close()


async def test_at_stop_a_request_under_way_is_read_and_answered_and_idle_connections_are_closed(
    server: tuple[OkServer, Received, int],
) -> None:
    ok, received, port = server
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = post(b"[" + b'"x",' * 1000 + b'"x"]')
    writer.write(post(b"[0]") + request[:100])  # a request, and the start of the next one, in one segment
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")  # so the server holds the start by now
    assert ok.in_flight == 1
    stopping = asyncio.ensure_future(ok.stop(5.0))
    assert await asyncio.wait_for(idle_reader.read(), 5) == b""  # the idle connection is closed at once
    writer.write(request[100:])
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    await asyncio.wait_for(stopping, 5)
    assert received == [b"[0]", request.split(b"\r\n\r\n", 1)[1]]
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)  # no new connection once stopped
    for w in (writer, idle_writer):
        w.close()


async def test_a_body_over_the_cap_is_answered_200_and_handed_over_as_none(
    server: tuple[OkServer, Received, int],
) -> None:
    _, received, port = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post(b"x" * ((1 << 20) + 1)) + post(b"[1]"))
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert received == [None, b"[1]"]
    writer.close()
