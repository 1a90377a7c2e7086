"""An HTTP/1.1 proxy in front of the S3 server that injects scripted faults, and plays S3's front end.

It forwards each request unchanged (Host included, so SigV4 signatures stay valid) and keeps client
connections alive like a real server, so the client's connection pool is exercised. Faults, consumed in order,
one per request: an error status with an S3 error body, a delay, or a reset (RST, no answer).
As S3's front end (the TLS tier): it can serve TLS on S3's host names, answer as S3 does what moto does not
check (`rules`: the bucket's region, the signing clock, revoked tokens; see s3_rules.py), add a latency profile,
and log every exchange (`log`), so that a test can count PUTs and see whether an object was overwritten.
`drop_idle_connections()` closes every idle keep-alive connection, as S3 does while Lambda keeps the
environment frozen. It runs in its own thread, so async tests and subprocesses can both use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

FaultKind = Literal["status", "delay", "reset"]


START_TIMEOUT_S: Final = 30.0
"""How long `start` waits for the proxy's server to listen."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    status: int = 503
    code: str = "SlowDown"
    seconds: float = 0.0
    method: str | None = None
    """Only requests with this method consume the fault (None: any)."""


Rule = Callable[[bytes], bytes | None]
"""Given a request's head, the response S3 would give instead of serving it, or None."""


@dataclass(frozen=True, slots=True)
class Exchange:
    at: float
    """Wall-clock time the answer was sent."""
    method: str
    host: str
    target: str
    status: int


@dataclass(slots=True)
class ProxyStats:
    requests: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    forwarded: int = 0


class FaultProxy:
    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._listen = (host, port)
        self._tls = tls
        self.rules: list[Rule] = []
        self.latency: Callable[[str], float] | None = None
        """Seconds to wait before answering a request with this method (a latency profile)."""
        self.log: list[Exchange] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._idle: set[asyncio.StreamWriter] = set()
        self.stats = ProxyStats()
        self.bucket_owner: str | None = None
        """When set, a request naming another x-amz-expected-bucket-owner gets 403 AccessDenied, as S3 answers
        (moto does not check the header)."""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failed: Exception | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = port

    @property
    def endpoint(self) -> str:
        return f"{'https' if self._tls else 'http'}://{self._listen[0]}:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._failed is not None:
            raise RuntimeError(f"the fault proxy did not start on {self._listen}: {self._failed!r}")
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _shutdown(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def inject(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def drop_idle_connections(self) -> None:
        done = threading.Event()

        def close_all() -> None:
            for writer in list(self._idle):
                writer.close()
            self._idle.clear()
            done.set()

        self._loop.call_soon_threadsafe(close_all)
        done.wait(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = asyncio.start_server(self._serve, *self._listen, ssl=self._tls, reuse_address=True)
        try:
            self._server = self._loop.run_until_complete(server)
        except Exception as error:  # start() says why, instead of waiting for ever
            self._failed = error
            self._ready.set()
            return
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def _owner_mismatch(self, head: bytes) -> Fault | None:
        if self.bucket_owner is None:
            return None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"x-amz-expected-bucket-owner" and value.strip().decode() != self.bucket_owner:
                return Fault("status", 403, "AccessDenied")
        return None

    def _next_fault(self, method: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.method in (None, method):
                    del self._faults[index]
                    return fault
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                self._idle.add(writer)
                head = await reader.readuntil(b"\r\n\r\n")
                self._idle.discard(writer)
                method = head.split(b" ", 1)[0].decode()
                self.stats.requests[method] = self.stats.requests.get(method, 0) + 1
                if b"expect: 100-continue" in head.lower():
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    head = _without_header(head, b"expect")
                body = await reader.readexactly(_content_length(head))
                if self.latency is not None:
                    await asyncio.sleep(self.latency(method))
                fault = self._next_fault(method) or self._owner_mismatch(head)
                if fault is not None:
                    self.stats.faults[fault.kind] = self.stats.faults.get(fault.kind, 0) + 1
                    if fault.kind == "reset":
                        _reset(writer)
                        return
                    if fault.kind == "status":
                        await self._answer(writer, head, error_response(fault.status, fault.code))
                        continue
                    await asyncio.sleep(fault.seconds)
                refusal = next((answer for rule in self.rules if (answer := rule(head)) is not None), None)
                await self._answer(writer, head, refusal or await self._forward(head, body))
                self.stats.forwarded += refusal is None
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._idle.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, head: bytes, response: bytes) -> None:
        method, target = head.split(b" ", 2)[:2]
        status = int(response.split(b" ", 2)[1])
        self.log.append(Exchange(time.time(), method.decode(), header(head, "host"), target.decode(), status))
        writer.write(response)  # logged first: the client may look at the log as soon as it has its answer
        await writer.drain()

    async def _forward(self, head: bytes, body: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(*self._upstream)
        try:
            writer.write(_with_connection_close(head) + body)
            await writer.drain()
            response = await reader.read()
        finally:
            writer.close()
        return _reframe(response, head.split(b" ", 1)[0] == b"HEAD")


def header(head: bytes, name: str) -> str:
    """A request header's value ("" when absent)."""
    wanted = name.lower().encode()
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == wanted:
            return value.strip().decode("latin-1")
    return ""


def _content_length(head: bytes) -> int:
    return int(header(head, "content-length") or 0)


def _without_header(head: bytes, name: bytes) -> bytes:
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    kept = [lines[0]] + [line for line in lines[1:] if line.split(b":", 1)[0].strip().lower() != name]
    return b"\r\n".join(kept) + b"\r\n\r\n"


def _with_connection_close(head: bytes) -> bytes:
    return _without_header(head, b"connection")[:-2] + b"Connection: close\r\n\r\n"


def _reframe(response: bytes, head_request: bool) -> bytes:
    """The upstream answered with Connection: close; give the client a keep-alive-able response."""
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status_line, headers = lines[0], lines[1:]
    names = {h.split(b":", 1)[0].strip().lower() for h in headers}
    if b"transfer-encoding" in names:
        body = _dechunk(body)
    kept = [h for h in headers if h.split(b":", 1)[0].strip().lower() not in (b"connection", b"transfer-encoding")]
    if not head_request:
        kept = [h for h in kept if h.split(b":", 1)[0].strip().lower() != b"content-length"]
        kept.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join([status_line, *kept]) + b"\r\n\r\n" + (b"" if head_request else body)


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2 :]
    return bytes(out)


def error_response(
    status: int, code: str, message: str = "injected by the fault proxy", headers: dict[str, str] | None = None,
    **fields: str,
) -> bytes:  # fmt: skip
    """An S3 error answer: XML body with Code, Message and any other `fields` (Region, Endpoint, ...)."""
    extra = "".join(f"<{name}>{value}</{name}>" for name, value in fields.items())
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
        f"{extra}<RequestId>fault</RequestId></Error>"
    ).encode()
    lines = [f"HTTP/1.1 {status} S3", "Content-Type: application/xml", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST: the client sees 'connection reset by peer', as after a dropped connection."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
