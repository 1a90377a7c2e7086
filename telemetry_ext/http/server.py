"""The HTTP/1.1 server behind the telemetry listener, on the event loop: it answers every request 200 at once,
then hands the body over. What a client may rightly expect of an HTTP/1.1 server (RFC 9112, RFC 9110):
- keep-alive for HTTP/1.1 unless `Connection: close`; HTTP/1.0 closes after the response unless it asked for
  `Connection: keep-alive`;
- `Expect: 100-continue` is answered with `100 Continue` before the body is read;
- chunked bodies with trailer fields leave the connection clean for the next request;
- at stop, no new connection is accepted, idle connections are closed, and requests already under way are
  read to their end and answered (the caller runs the loop until `in_flight` is 0, within a bound) before their
  connections close.

Sockets are non-blocking; a wake-up reads what the kernel has (one `recv` for a POST that arrived whole, the
usual case), and an answer of a few dozen bytes always fits in the socket's send buffer.
"""

from __future__ import annotations

import _socket

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.http.client import Socket
from telemetry_ext.http.wire import Body, Framing, take_head

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final

    from telemetry_ext.loop import Loop

    Handler = Callable[[bytes | None], None]
    """Called with each request body, or None for one that could not be taken (over the cap)."""

_RECV_SIZE: Final = 65_536
"""Under malloc's mmap threshold (128 KiB): a larger read buffer is mapped and unmapped at every read."""
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_OK: Final = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_OK_KEEP_ALIVE: Final = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
_OK_CLOSE: Final = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_SEND_TIMEOUT_S: Final = 1.0


class Peer:
    """One client connection: the bytes read and not yet taken, and the request under way."""

    __slots__ = ("body", "buffer", "fd", "keep_alive", "server", "sock", "version")

    def __init__(self, server: OkServer, sock: _socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.fd = sock.fileno()
        self.buffer = bytearray()
        self.body: Body | None = None
        """The body of the request whose head has come; None between requests."""
        self.version = ""
        self.keep_alive = True

    @property
    def busy(self) -> bool:
        """A request is under way: its head has started to arrive and it is not answered yet."""
        return self.body is not None or bool(self.buffer)

    def on_readable(self) -> None:
        try:
            data = self.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client went away; a request it left unfinished has nobody to answer
            self.server.drop(self)
            return
        self.buffer += data
        try:
            self._serve()
        except (ValueError, OSError):  # not HTTP, or the client went away: nothing to answer
            self.server.drop(self)

    def _serve(self) -> None:
        buffer = self.buffer
        while buffer or self.body is not None:
            body = self.body
            if body is None:
                head = take_head(buffer)
                if head is None:
                    return
                body = self.body = self._start(head)
            if not body.take(buffer, False):
                return
            self.body = None
            self._send(_response(self.version, self.keep_alive))
            self.server.requests += 1
            self.server.handle(None if body.over_cap else body.value)
            if not self.keep_alive or (self.server.stopping and not self.busy):
                self.server.drop(self)
                return

    def _start(self, head: bytes) -> Body:
        framing = Framing(head)
        start = framing.start
        if len(start) != 3 or start[2] not in ("HTTP/1.1", "HTTP/1.0"):
            raise ValueError("not an HTTP/1.x request")
        self.version, self.keep_alive = start[2], framing.keep_alive()
        if framing.expect_continue:
            self._send(_CONTINUE)
        return Body(framing, until_close=False, cap=self.server.max_body)

    def _send(self, data: bytes) -> None:
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent < len(data):  # a send buffer full of unread answers: wait for room, briefly
            self.sock.settimeout(_SEND_TIMEOUT_S)
            try:
                self.sock.sendall(data[sent:])
            finally:
                self.sock.setblocking(False)


class OkServer:
    def __init__(self, loop: Loop, handle: Handler, max_body: int) -> None:
        self.loop = loop
        self.handle = handle
        self.max_body = max_body
        self._listening: _socket.socket | None = None
        self._peers: dict[int, Peer] = {}
        self.stopping = False
        self.requests = 0

    def start(self, host: str, port: int) -> None:
        sock = Socket(_socket.AF_INET, _socket.SOCK_STREAM)
        try:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(64)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._listening = sock
        self.loop.watch(sock.fileno(), self._accept)

    def _accept(self) -> None:
        assert self._listening is not None
        while True:
            try:
                fd, _ = self._listening._accept()  # type: ignore[attr-defined]  # the C socket's accept
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of descriptors, or the client gave up meanwhile: it will connect again
                return
            sock = Socket(_socket.AF_INET, _socket.SOCK_STREAM, 0, fd)
            sock.setblocking(False)
            peer = Peer(self, sock)
            self._peers[fd] = peer
            self.loop.watch(fd, peer.on_readable)

    @property
    def in_flight(self) -> int:
        return sum(peer.busy for peer in self._peers.values())

    def stop_accepting(self) -> None:
        """No new connection; idle ones are closed; the busy ones are closed once they are answered."""
        self.stopping = True
        if self._listening is not None:
            self.loop.forget(self._listening.fileno())
            self._listening.close()
            self._listening = None
        for peer in list(self._peers.values()):
            if not peer.busy:
                self.drop(peer)

    def close(self) -> None:
        self.stop_accepting()
        for peer in list(self._peers.values()):
            self.drop(peer)

    def drop(self, peer: Peer) -> None:
        if self._peers.pop(peer.fd, None) is not None:
            self.loop.forget(peer.fd)
            peer.sock.close()


def _response(version: str, keep_alive: bool) -> bytes:
    if not keep_alive:
        return _OK_CLOSE
    return _OK_KEEP_ALIVE if version == "HTTP/1.0" else _OK
