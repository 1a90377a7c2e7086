"""The listener's HTTP/1.1 server over real sockets: what any HTTP/1.1 client may send it (RFC 9112, RFC 9110).
The server runs on the extension's own event loop, in a thread of the test (tests/support/loop_thread.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from telemetry_ext.http.server import OkServer
from tests.support.loop_thread import Collected, LoopThread, loop_thread
from tests.support.s3 import free_port

Received = Collected[bytes | None]


@pytest.fixture
def server() -> Iterator[tuple[OkServer, Received, int, LoopThread]]:
    received: Received = Collected()
    port = free_port()
    with loop_thread() as running:
        ok = running.call(lambda: OkServer(running.loop, received.add, max_body=1 << 20))
        running.call(lambda: ok.start("127.0.0.1", port))
        yield ok, received, port, running
        running.call(ok.close)


async def read_response(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)


def post(body: bytes, *extra: str, version: str = "HTTP/1.1") -> bytes:
    head = [f"POST / {version}", "Host: sandbox.localdomain", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def test_a_chunked_body_with_trailer_fields_leaves_the_connection_clean_for_the_next_request(
    server: tuple[OkServer, Received, int, LoopThread],
) -> None:
    _, received, port, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    chunked = (
        b"POST / HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\n[1,2]\r\n0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n"
    )
    writer.write(chunked + post(b"[3]"))
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert received.until(2) == [b"[1,2]", b"[3]"]
    writer.close()


async def test_expect_100_continue_is_answered_before_the_body_is_sent(
    server: tuple[OkServer, Received, int, LoopThread],
) -> None:
    _, received, port, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = post(b"[42]", "Expect: 100-continue")
    head, body = request.split(b"\r\n\r\n", 1)
    writer.write(head + b"\r\n\r\n")
    assert await read_response(reader) == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert received.until(1) == [b"[42]"]
    writer.close()


async def test_http_1_0_is_closed_after_its_answer_unless_it_asked_to_keep_alive(
    server: tuple[OkServer, Received, int, LoopThread],
) -> None:
    _, received, port, _ = server
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
    assert received.until(3) == [b"[1]", b"[2]", b"[3]"]
    writer.close()


async def test_pipelined_requests_are_all_answered_in_order(server: tuple[OkServer, Received, int, LoopThread]) -> None:
    _, received, port, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(post(f"[{n}]".encode()) for n in range(3)))
    for _ in range(3):
        assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert received.until(3) == [b"[0]", b"[1]", b"[2]"]
    writer.close()


async def test_at_stop_a_request_under_way_is_read_and_answered_and_idle_connections_are_closed(
    server: tuple[OkServer, Received, int, LoopThread],
) -> None:
    ok, received, port, running = server
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = post(b"[" + b'"x",' * 1000 + b'"x"]')
    writer.write(post(b"[0]") + request[:100])  # a request, and the start of the next one, in one segment
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")  # so the server holds the start by now
    assert running.call(lambda: ok.in_flight) == 1
    running.call(ok.stop_accepting)
    assert await asyncio.wait_for(idle_reader.read(), 5) == b""  # the idle connection is closed at once
    writer.write(request[100:])
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert await asyncio.wait_for(reader.read(), 5) == b""  # answered, then closed: the server is stopping
    assert running.call(lambda: ok.in_flight) == 0
    assert received.until(2) == [b"[0]", request.split(b"\r\n\r\n", 1)[1]]
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)  # no new connection once stopped
    for w in (writer, idle_writer):
        w.close()


async def test_a_body_over_the_cap_is_answered_200_and_handed_over_as_none(
    server: tuple[OkServer, Received, int, LoopThread],
) -> None:
    _, received, port, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post(b"x" * ((1 << 20) + 1)) + post(b"[1]"))
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
    assert received.until(2) == [None, b"[1]"]
    writer.close()
