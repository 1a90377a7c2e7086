"""The HTTP/1.1 the extension speaks, over asyncio streams: one client connection, one tiny server.

Why not aiohttp: importing it cost 125 ms of the extension's 177 ms of start-up imports and ~16 MB of its
memory (measured, -X importtime and peak RSS), and what we need is small: JSON calls to the Lambda API, S3
PUTs, and a listener that answers every POST with 200. Bodies are framed by Content-Length or chunked
encoding; connections are kept alive. A request on a kept-alive connection that turns out dead (the server
closed it while Lambda kept the environment frozen) is retried once on a new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import ssl

HEAD_LIMIT: Final = 65_536
_CHUNK: Final = 65_536
_OK: Final = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class HttpError(Exception):
    """The transport failed: refused, reset, closed early, or not HTTP."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive connection to `host:port`, used by one caller at a time."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self._tls = host, port, tls
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, target: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> Response:
        host = host_header(self.host, self.port, tls=self._tls is not None)
        head = _request_head(method, target, host, headers or {}, len(body))
        reused = self._writer is not None
        while True:
            try:
                return await self._exchange(head + body, method)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
                self.close()
                if not reused:
                    raise HttpError(f"{method} {self.host}:{self.port}{target}: {error!r}") from None
                reused = False  # the kept-alive connection was dead: once more on a new one
            except BaseException:  # cancelled or timed out mid-exchange: the connection's state is unknown
                self.close()
                raise

    async def _exchange(self, message: bytes, method: str) -> Response:
        if self._writer is None:
            server_hostname = self.host if self._tls else None
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, ssl=self._tls, server_hostname=server_hostname, limit=HEAD_LIMIT
            )
        assert self._reader is not None and self._writer is not None
        self._writer.write(message)
        await self._writer.drain()
        status, headers = _parse_status_and_headers(await self._reader.readuntil(b"\r\n\r\n"))
        body = await read_body(self._reader, headers, until_close_allowed=True, no_body=method == "HEAD")
        framed = "content-length" in headers or _chunked(headers)
        if headers.get("connection", "").lower() == "close" or not framed:
            self.close()
        return Response(status, headers, body)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def host_header(host: str, port: int, *, tls: bool) -> str:
    """The Host header's value: the port only when it is not the scheme's default (what SigV4 signs, too)."""
    default = 443 if tls else 80
    return host if port == default else f"{host}:{port}"


def _request_head(method: str, target: str, host: str, headers: Mapping[str, str], length: int) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_status_and_headers(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
    return int(parts[1]), _headers(lines)


def _headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def _chunked(headers: Mapping[str, str]) -> bool:
    return "chunked" in headers.get("transfer-encoding", "").lower()


async def read_body(
    reader: asyncio.StreamReader,
    headers: Mapping[str, str],
    *,
    until_close_allowed: bool = False,
    no_body: bool = False,
    cap: int | None = None,
) -> bytes:
    """The body framed by `headers`. Over `cap` bytes the rest is read and thrown away, and ValueError
    ("over cap") is raised after, so the connection stays usable for the next message."""
    if no_body:
        return b""
    if _chunked(headers):
        return await _read_chunked(reader, cap)
    if "content-length" in headers:
        return await _read_exactly(reader, int(headers["content-length"]), cap)
    return await reader.read() if until_close_allowed else b""


async def _read_exactly(reader: asyncio.StreamReader, length: int, cap: int | None) -> bytes:
    if cap is not None and length > cap:
        while length:
            length -= len(await reader.readexactly(min(_CHUNK, length)))
        raise OverCapError(cap)
    return await reader.readexactly(length)


async def _read_chunked(reader: asyncio.StreamReader, cap: int | None) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        length = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if length == 0:
            await reader.readuntil(b"\r\n")  # the empty trailer
            break
        data = await reader.readexactly(length + 2)
        size += length
        if cap is None or size <= cap:
            parts.append(data[:-2])
    if cap is not None and size > cap:
        raise OverCapError(cap)
    return b"".join(parts)


class OverCapError(ValueError):
    def __init__(self, cap: int) -> None:
        super().__init__(f"body over {cap} bytes")


Handler = Callable[[bytes | None], None]
"""Called with each request body, or None for one that could not be taken (over the cap, bad framing)."""


async def serve_ok(host: str, port: int, handle: Handler, max_body: int) -> asyncio.Server:
    """A server that answers every request 200 at once, then hands the body over. Keep-alive."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            while True:
                _, headers = _parse_request_head(await reader.readuntil(b"\r\n\r\n"))
                try:
                    body: bytes | None = await read_body(reader, headers, cap=max_body)
                except OverCapError:
                    body = None
                writer.write(_OK)
                handle(body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        writer.close()

    return await asyncio.start_server(connection, host, port, limit=HEAD_LIMIT, reuse_address=True)


def _parse_request_head(head: bytes) -> tuple[str, dict[str, str]]:
    request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    if not request_line.endswith(("HTTP/1.1", "HTTP/1.0")):
        raise ValueError("not an HTTP/1.x request")
    return request_line.split(" ", 1)[0], _headers(lines)


async def wait_closed(server: asyncio.Server) -> None:
    server.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.wait_closed(), 1.0)
