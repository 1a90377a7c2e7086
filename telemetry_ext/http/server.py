"""The HTTP/1.1 server behind the telemetry listener: it answers every request 200 at once, then hands the body
over. What a client may rightly expect of an HTTP/1.1 server (RFC 9112, RFC 9110):
- keep-alive for HTTP/1.1 unless `Connection: close`; HTTP/1.0 closes after the response unless it asked for
  `Connection: keep-alive`;
- `Expect: 100-continue` is answered with `100 Continue` before the body is read;
- chunked bodies with trailer fields leave the connection clean for the next request;
- at stop, no new connection is accepted, idle connections are closed, and requests already under way are
  read to their end and answered (within a bound) before their connections close.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.http.wire import HttpError, OverCapError, Stream, parse_head, read_body

if TYPE_CHECKING:
    from typing import Final

Handler = Callable[[bytes | None], None]
"""Called with each request body, or None for one that could not be taken (over the cap)."""

_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_OK: Final = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_OK_KEEP_ALIVE: Final = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
_OK_CLOSE: Final = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _Peer:
    __slots__ = ("busy", "stream", "task")

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.busy = False
        """A request is under way: its head has started to arrive and it is not answered yet."""
        self.task: asyncio.Task[None] | None = None

    @property
    def idle(self) -> bool:
        return not self.busy and self.stream.buffered() == 0


class OkServer:
    def __init__(self, handle: Handler, max_body: int) -> None:
        self._handle = handle
        self._max_body = max_body
        self._server: asyncio.Server | None = None
        self._peers: set[_Peer] = set()
        self._stopping = False
        self.requests = 0

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, host, port, reuse_address=True)

    def _accept(self) -> Stream:
        server = self

        class Accepted(Stream):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                super().connection_made(transport)
                peer = _Peer(self)
                server._peers.add(peer)
                peer.task = asyncio.get_running_loop().create_task(server._serve(peer))

        return Accepted()

    async def _serve(self, peer: _Peer) -> None:
        stream = peer.stream
        try:
            while True:
                head = await stream.read_until(b"\r\n\r\n")
                peer.busy = True
                keep_alive = await self._answer(stream, head)
                peer.busy = False
                if not keep_alive or (self._stopping and peer.idle):
                    break
        except (HttpError, ValueError, OSError):
            pass  # not HTTP, or the client went away: nothing to answer
        finally:
            stream.close()
            self._peers.discard(peer)

    async def _answer(self, stream: Stream, head: bytes) -> bool:
        """Read one request's body and answer it; whether the connection stays open."""
        start, headers = parse_head(head)
        if len(start) != 3 or start[2] not in ("HTTP/1.1", "HTTP/1.0"):
            raise ValueError("not an HTTP/1.x request")
        if headers.get("expect", "").lower() == "100-continue":
            stream.write(_CONTINUE)
        try:
            body: bytes | None = await read_body(stream, headers, until_close=False, cap=self._max_body)
        except OverCapError:
            body = None
        keep_alive = _keep_alive(start[2], headers)
        stream.write(_response(start[2], keep_alive))
        self.requests += 1
        self._handle(body)
        await stream.drain()
        return keep_alive

    async def stop(self, timeout_s: float) -> None:
        """Stop accepting; answer the requests under way (for at most `timeout_s`), then close everything."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for peer in list(self._peers):
            if peer.idle:
                peer.stream.close()
        tasks = [peer.task for peer in self._peers if peer.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        for peer in list(self._peers):
            peer.stream.close()
            if peer.task is not None:
                peer.task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def in_flight(self) -> int:
        return sum(not peer.idle for peer in self._peers)


def _keep_alive(version: str, headers: Mapping[str, str]) -> bool:
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def _response(version: str, keep_alive: bool) -> bytes:
    if not keep_alive:
        return _OK_CLOSE
    return _OK_KEEP_ALIVE if version == "HTTP/1.0" else _OK
