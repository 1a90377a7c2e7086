"""The HTTP/1.1 client against scripted servers over real sockets: the corner cases an S3 client meets. The client
blocks (it runs in the writer's thread): each request runs in a thread while the scripted server answers."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from telemetry_ext.http.client import EXPECT_CONTINUE_BYTES, Connection

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[int]:
    server = await asyncio.start_server(script, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head, await reader.readexactly(length)


async def test_interim_1xx_responses_are_skipped() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with scripted(script) as port:
        response = await asyncio.to_thread(Connection("127.0.0.1", port).request, "PUT", "/k", {}, b"body")
    assert (response.status, response.body) == (200, b"ok")


async def test_a_chunked_answer_with_trailers_leaves_the_connection_usable() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")
            await writer.drain()

    async with scripted(script) as port:
        connection = Connection("127.0.0.1", port)
        first = await asyncio.to_thread(connection.request, "GET", "/a")
        second = await asyncio.to_thread(connection.request, "GET", "/b", None, b"", 5.0)
    assert first.body == second.body == b"abc"


async def test_an_early_error_answer_then_a_reset_is_returned_not_reported_as_a_reset() -> None:
    """S3 may refuse a request from its head, answer, and reset the connection while the body is still coming."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the head only: the body is never read
        body = b"<Error><Code>AccessDenied</Code></Error>"
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, unread body and all
        writer.close()

    async with scripted(script) as port:
        response = await asyncio.to_thread(
            Connection("127.0.0.1", port).request, "PUT", "/k", {}, b"x" * (EXPECT_CONTINUE_BYTES - 1)
        )
    assert response.status == 403 and b"AccessDenied" in response.body


def echo_length(body: bytes) -> bytes:
    size = str(len(body)).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(size) + size


@pytest.mark.parametrize("interim", [b"HTTP/1.1 100 Continue\r\n\r\n", b""], ids=["continue", "no-interim-answer"])
async def test_a_large_body_waits_for_100_continue_or_a_second_then_is_sent(interim: bytes) -> None:
    heads: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(interim)  # nothing at all: a server that ignores Expect
        writer.write(echo_length(await reader.readexactly(EXPECT_CONTINUE_BYTES)))
        await writer.drain()

    async with scripted(script) as port:
        response = await asyncio.to_thread(
            Connection("127.0.0.1", port).request, "PUT", "/k", {}, b"x" * EXPECT_CONTINUE_BYTES
        )
    assert b"Expect: 100-continue" in heads[0]
    assert (response.status, response.body) == (200, str(EXPECT_CONTINUE_BYTES).encode())


async def test_a_refusal_before_100_continue_spares_the_body() -> None:
    received = bytearray()
    closed = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        received.extend(await reader.read())  # whatever the client sends before it closes
        closed.set()

    async with scripted(script) as port:
        connection = Connection("127.0.0.1", port)
        response = await asyncio.to_thread(connection.request, "PUT", "/k", {}, b"x" * EXPECT_CONTINUE_BYTES)
        connection.close()
        await asyncio.wait_for(closed.wait(), 5)
    assert response.status == 403 and received == b""
