"""HTTP/1.1 framing shared by the client and the server: a buffered byte stream over an asyncio transport, and
message heads and bodies read from it (RFC 9112).

Why a stream of our own and not asyncio's StreamReader: once a connection is reset, StreamReader refuses every
read, even of bytes already received. A server that answers early (an S3 error sent before the request body
was read) and resets the connection leaves a complete response in our buffer; we read it instead of reporting a
reset. Reads here take what is buffered first and raise the connection's error only when more is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Final

HEAD_LIMIT: Final = 65_536
_CHUNK: Final = 65_536


class HttpError(Exception):
    """The transport failed: refused, reset, closed early, or not HTTP."""


class CertificateError(HttpError):
    """The server's TLS certificate could not be verified against the trust store."""


class OverCapError(ValueError):
    def __init__(self, cap: int) -> None:
        super().__init__(f"body over {cap} bytes")


class Stream(asyncio.Protocol):
    """One connection's bytes: what arrived, buffered until read; writes with flow control."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._error: BaseException | None = None
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    # -- asyncio.Protocol -----------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._error = exc
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- reading --------------------------------------------------------------------------------------------
    async def read_until(self, separator: bytes, limit: int = HEAD_LIMIT) -> bytes:
        """Up to and including `separator`; ValueError past `limit` bytes without it."""
        while (index := self._buffer.find(separator)) < 0:
            if len(self._buffer) > limit:
                raise ValueError(f"no {separator!r} within {limit} bytes")
            await self._more()
        return self._take(index + len(separator))

    async def read_exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            await self._more()
        return self._take(length)

    async def read_to_eof(self) -> bytes:
        while not self._eof:
            await self._more(allow_eof=True)
        return self._take(len(self._buffer))

    def buffered(self) -> int:
        return len(self._buffer)

    def _take(self, length: int) -> bytes:
        data = bytes(self._buffer[:length])
        del self._buffer[:length]
        return data

    async def _more(self, allow_eof: bool = False) -> None:
        if self._eof:
            if allow_eof:
                return
            if self._error is not None:
                raise HttpError(f"connection lost: {self._error!r}")
            raise HttpError("connection closed by the peer")
        self._readable = asyncio.get_running_loop().create_future()
        try:
            await self._readable
        finally:
            self._readable = None

    def _wake_reader(self) -> None:
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)

    # -- writing --------------------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self.transport is None or self.transport.is_closing() or self._eof

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise HttpError(f"connection lost: {self._error!r}" if self._error else "connection closed")
        self.transport.write(data)

    async def drain(self) -> None:
        if self._writable is not None:
            await self._writable
        if self._error is not None:
            raise HttpError(f"connection lost: {self._error!r}")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def parse_head(head: bytes) -> tuple[list[str], dict[str, str]]:
    """The start line's parts and the headers (names lower-cased; repeated fields joined with commas)."""
    start, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ValueError(f"malformed header line {line[:60]!r}")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return start.split(" ", 2), headers


def is_chunked(headers: Mapping[str, str]) -> bool:
    return headers.get("transfer-encoding", "").lower().rsplit(",", 1)[-1].strip() == "chunked"


def content_length(headers: Mapping[str, str]) -> int | None:
    raw = headers.get("content-length")
    if raw is None:
        return None
    values = {v.strip() for v in raw.split(",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise ValueError(f"bad Content-Length {raw!r}")
    return int(values.pop())


async def read_body(stream: Stream, headers: Mapping[str, str], *, until_close: bool, cap: int | None = None) -> bytes:
    """The body framed by `headers`: chunked (trailer fields read and dropped), Content-Length, or — for a
    response that has neither — everything until the server closes (`until_close`); a request without either
    has no body. Over `cap` bytes the rest is read and thrown away, then OverCapError is raised, so the
    connection stays usable for the next message."""
    if is_chunked(headers):
        return await _read_chunked(stream, cap)
    length = content_length(headers)
    if length is not None:
        return await _read_length(stream, length, cap)
    return await stream.read_to_eof() if until_close else b""


async def _read_length(stream: Stream, length: int, cap: int | None) -> bytes:
    if cap is not None and length > cap:
        while length:
            length -= len(await stream.read_exactly(min(_CHUNK, length)))
        raise OverCapError(cap)
    return await stream.read_exactly(length)


async def _read_chunked(stream: Stream, cap: int | None) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        line = await stream.read_until(b"\r\n")
        length = int(line.split(b";", 1)[0].strip(), 16)  # chunk extensions after ";" are ignored
        if length == 0:
            break
        size += length
        keep = cap is None or size <= cap
        remaining = length
        while remaining:
            data = await stream.read_exactly(min(_CHUNK, remaining))
            remaining -= len(data)
            if keep:
                parts.append(data)
        if await stream.read_exactly(2) != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
    while await stream.read_until(b"\r\n") != b"\r\n":  # trailer fields, up to the empty line
        pass
    if cap is not None and size > cap:
        raise OverCapError(cap)
    return b"".join(parts)
