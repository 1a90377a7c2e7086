"""The blocking HTTP/1.1 client: one keep-alive connection, used by one thread at a time (the Lambda API's calls
during init, S3 PUTs and the credentials endpoint in the writer's thread).

Why not http.client or an SDK: start-up (aiohttp cost 125 of 177 ms of the first design's imports; `socket` and
`ssl` add enum classes built at import), and a timeout that counts only time awake (`awake.py`). It uses the C
modules `_socket` and, for TLS, a context from `pipeline/tls.py`.

What it handles as an SDK's client does:
- a kept-alive connection that turns out dead (closed by the server while Lambda kept the environment frozen)
  is retried once on a new connection;
- interim `1xx` responses are skipped; `100 Continue` answers `Expect: 100-continue`, which large bodies send
  so that a server refusing the request says so before the body is sent;
- a response that arrives while the body is still being sent (an early error, then a reset) is read and
  returned rather than reported as a reset;
- bodies framed by Content-Length, chunked encoding (trailers dropped), or the end of the connection.
"""

from __future__ import annotations

import _socket
import errno
import select

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.awake import AwakeBudget
from telemetry_ext.http import host_header
from telemetry_ext.http.wire import Body, CertificateError, HttpError, parse_head, take_head
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Final, Protocol

    class Tls(Protocol):
        """Wraps a connected socket for TLS (pipeline/tls.py)."""

        def wrap(self, sock: _socket.socket, server_hostname: str) -> TlsSocket: ...

    class TlsSocket(Protocol):
        """The TLS session over one socket: a read gives b"" at the end of the stream."""

        def do_handshake(self) -> None: ...
        def read(self, size: int) -> bytes: ...
        def write(self, data: bytes) -> int: ...


EXPECT_CONTINUE_BYTES: Final = 1 << 20
"""Bodies this large ask the server first (`Expect: 100-continue`), as SDKs do for uploads."""
CONTINUE_WAIT_S: Final = 1.0
CONNECT_TIMEOUT_S: Final = 10.0
"""How long to wait for `100 Continue` before sending the body anyway (RFC 9110 §10.1.1)."""
_WRITE_SIZE: Final = 65_536
_READ_SIZE: Final = 65_536


class Socket(_socket.socket):
    """The C socket, with room for a weak reference (a TLS session keeps one to its socket)."""

    __slots__ = ("__weakref__",)


class Response(Record):
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Channel:
    """A connected socket, plain or TLS, whose every wait is a slice of an awake-time budget."""

    def __init__(self, sock: _socket.socket, tls: TlsSocket | None) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self._tls = tls
        self._piece = b""
        self.buffer = bytearray()
        self.eof = False

    def receive(self, budget: AwakeBudget) -> None:
        """More bytes into `buffer`, or `eof`."""
        data = budget.run(self._read)
        if data:
            self.buffer += data
        else:
            self.eof = True

    def _read(self, timeout: float) -> bytes:
        self.sock.settimeout(timeout)
        return self.sock.recv(_READ_SIZE) if self._tls is None else self._tls.read(_READ_SIZE)

    def send(self, data: bytes, budget: AwakeBudget) -> None:
        offset = 0
        while offset < len(data):
            self._piece = data[offset : offset + _WRITE_SIZE]
            offset += budget.run(self._write)

    def _write(self, timeout: float) -> int:
        """Write (some of) `_piece`; a TLS write that timed out is retried with the same bytes, as OpenSSL needs."""
        self.sock.settimeout(timeout)
        return self.sock.send(self._piece) if self._tls is None else self._tls.write(self._piece)

    def readable_within(self, seconds: float) -> bool:
        if self.buffer:
            return True
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        return bool(poller.poll(seconds * 1000))

    def close(self) -> None:
        self.sock.close()


def connect(host: str, port: int, budget: AwakeBudget) -> Socket:
    """A TCP connection to the first address of `host` that accepts one."""
    error: OSError | None = None
    # An ASCII name is given as bytes: a str goes through the idna codec, whose import (unicodedata, stringprep)
    # is start-up cost, for a name that needs no encoding.
    name = host.encode("ascii") if host.isascii() else host
    for family, kind, proto, _, address in _socket.getaddrinfo(name, port, 0, _socket.SOCK_STREAM):
        sock = Socket(family, kind, proto)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(address)
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, f"connect to {host}:{port} failed (errno {code})")
            if code:
                budget.run(_writable(sock))
                code = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
                if code:
                    raise OSError(code, f"connect to {host}:{port} failed (errno {code})")
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            return sock
        except OSError as failed:
            sock.close()
            error = failed
    raise error or OSError(f"{host} has no address")


def _writable(sock: _socket.socket) -> Callable[[float], None]:
    """A wait for `sock` to be writable (its connect done), TimeoutError after `timeout` seconds."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLOUT)

    def wait(timeout: float) -> None:
        if not poller.poll(timeout * 1000):
            raise TimeoutError

    return wait


class Connection:
    def __init__(self, host: str, port: int, tls: Tls | None = None, server_hostname: str = "") -> None:
        self.host, self.port, self._tls = host, port, tls
        self._server_hostname = server_hostname or host
        self._channel: Channel | None = None

    @property
    def host_header(self) -> str:
        return host_header(self._server_hostname, self.port, tls=self._tls is not None)

    def open_channel(self) -> Channel:
        """The live channel, connected anew if there is none or it went stale (for a caller that does its own
        I/O on it: /next on the event loop)."""
        if self._channel is None or self._stale():
            self.close()
            return self._connect(AwakeBudget(CONNECT_TIMEOUT_S))
        return self._channel

    def request(
        self, method: str, target: str, headers: Mapping[str, str] | None = None, body: bytes = b"",
        timeout_s: float = 30.0,
    ) -> Response:  # fmt: skip
        """Send and read the answer within `timeout_s` of time awake (AwakeTimeout after that)."""
        expect = len(body) >= EXPECT_CONTINUE_BYTES
        head = request_head(method, target, self.host_header, headers or {}, len(body), expect)
        budget = AwakeBudget(timeout_s)
        reused = self._channel is not None and not self._stale()
        if not reused:
            self.close()
        while True:
            try:
                return self._exchange(head, body, method, expect, budget)
            except TimeoutError:
                self.close()
                raise
            except (OSError, HttpError, ValueError) as error:
                self.close()
                if hasattr(error, "verify_message"):  # SSLCertVerificationError: no retry will change it
                    raise CertificateError(f"{self._server_hostname}: {error.verify_message}") from None
                if not reused:
                    raise HttpError(f"{method} {self.host}:{self.port}{target}: {error}") from None
                reused = False  # the kept-alive connection was dead: once more on a new one
            except BaseException:
                self.close()
                raise

    def _stale(self) -> bool:
        """Closed by the server meanwhile (idle timeout, or while we were frozen)?"""
        channel = self._channel
        return channel is None or channel.eof or channel.readable_within(0)

    def _exchange(self, head: bytes, body: bytes, method: str, expect: bool, budget: AwakeBudget) -> Response:
        channel = self._channel or self._connect(budget)
        if expect:
            channel.send(head, budget)
            if channel.readable_within(CONTINUE_WAIT_S):  # 100 Continue, or a final answer
                response = _read_response(channel, method, budget)
                if response.status != 100:
                    return self._finish(response, body_sent=False)
            sent = self._send_or_answered(channel, body, budget)
        else:
            sent = self._send_or_answered(channel, head + body, budget)
        response = _read_response(channel, method, budget)
        if response.status == 100:
            response = _read_response(channel, method, budget)
        return self._finish(response, body_sent=sent)

    def _send_or_answered(self, channel: Channel, data: bytes, budget: AwakeBudget) -> bool:
        """Send `data`; False if the server answered and cut the connection first (its answer is read next)."""
        try:
            channel.send(data, budget)
            return True
        except OSError:
            try:
                channel.receive(budget)  # a failed send may still have been answered: reading decides
            except OSError:
                pass
            if not channel.buffer:
                raise
            return False

    def _finish(self, response: Response, *, body_sent: bool) -> Response:
        framed = "content-length" in response.headers or "transfer-encoding" in response.headers
        if not body_sent or not framed or response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    def _connect(self, budget: AwakeBudget) -> Channel:
        sock = connect(self.host, self.port, budget)
        tls = None
        if self._tls is not None:
            tls = self._tls.wrap(sock, self._server_hostname)
            budget.run(lambda timeout: _handshake(sock, tls, timeout))
        self._channel = Channel(sock, tls)
        return self._channel

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def _handshake(sock: _socket.socket, tls: TlsSocket, timeout: float) -> None:
    sock.settimeout(timeout)
    tls.do_handshake()


def _read_response(channel: Channel, method: str, budget: AwakeBudget) -> Response:
    """The next response; interim 1xx responses other than `100 Continue` are skipped (`100` is returned, so
    a caller waiting to send its body knows it may)."""
    while True:
        head = take_head(channel.buffer)
        while head is None:
            if channel.eof:
                raise HttpError("connection closed by the peer before a response")
            channel.receive(budget)
            head = take_head(channel.buffer)
        start, headers = parse_head(head)
        if len(start) < 2 or not start[0].startswith("HTTP/1.") or not start[1].isdigit():
            raise HttpError(f"not an HTTP/1.x response: {' '.join(start)[:80]!r}")
        status = int(start[1])
        if status == 100:
            return Response(100, headers, b"")
        if 100 < status < 200:
            continue
        if method == "HEAD" or status in (204, 304):
            return Response(status, headers, b"")
        body = Body(headers, until_close=True)
        while not body.take(channel.buffer, channel.eof):
            channel.receive(budget)
        return Response(status, headers, body.value)


def request_head(
    method: str, target: str, host: str, headers: Mapping[str, str], length: int, expect: bool = False
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}"]
    if expect:
        lines.append("Expect: 100-continue")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
