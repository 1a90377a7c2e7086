"""The HTTP/1.1 client: one keep-alive connection, used by one caller at a time.

Why not aiohttp: importing it cost 125 ms of the extension's 177 ms of start-up imports and ~16 MB of its
memory (measured, -X importtime and peak RSS); what we need is small: JSON calls to the Lambda API and S3 PUTs.

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

import asyncio
import contextlib
from collections.abc import Callable, Mapping

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.http import host_header
from telemetry_ext.http.wire import CertificateError, HttpError, Stream, parse_head, read_body
from telemetry_ext.record import Record

if TYPE_CHECKING:
    import ssl
    from typing import Final

EXPECT_CONTINUE_BYTES: Final = 1 << 20
"""Bodies this large ask the server first (`Expect: 100-continue`), as SDKs do for uploads."""
CONTINUE_WAIT_S: Final = 1.0
"""How long to wait for `100 Continue` before sending the body anyway (RFC 9110 §10.1.1)."""


class Response(Record):
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Connection:
    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None = None, server_hostname: str = "") -> None:
        self.host, self.port, self._tls = host, port, tls
        self._server_hostname = server_hostname or host
        self._stream: Stream | None = None

    async def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        on_sent: Callable[[], None] | None = None,
    ) -> Response:
        """Send and read the answer. `on_sent` is called once the whole request is handed to the kernel."""
        host = host_header(self._server_hostname, self.port, tls=self._tls is not None)
        expect = len(body) >= EXPECT_CONTINUE_BYTES
        head = request_head(method, target, host, headers or {}, len(body), expect)
        if self._stream is not None and self._stream.closed:
            self.close()  # closed by the server meanwhile (idle timeout, or while we were frozen)
        reused = self._stream is not None
        while True:
            try:
                return await self._exchange(head, body, method, expect, on_sent)
            except (OSError, HttpError, ValueError) as error:
                self.close()
                if hasattr(error, "verify_message"):  # ssl.SSLCertVerificationError: no retry will change it
                    raise CertificateError(f"{self._server_hostname}: {error.verify_message}") from None
                if not reused:
                    raise HttpError(f"{method} {self.host}:{self.port}{target}: {error}") from None
                reused = False  # the kept-alive connection was dead: once more on a new one
            except BaseException:  # cancelled or timed out mid-exchange: the connection's state is unknown
                self.close()
                raise

    async def _exchange(
        self, head: bytes, body: bytes, method: str, expect: bool, on_sent: Callable[[], None] | None
    ) -> Response:
        stream = self._stream or await self._connect()
        responding = asyncio.ensure_future(_read_response(stream, method))
        try:
            if expect:
                stream.write(head)
                await asyncio.wait({responding}, timeout=CONTINUE_WAIT_S)  # 100 Continue, or a final answer
                if responding.done() and responding.result().status != 100:
                    return self._finish(responding.result(), body_sent=False)
                stream.write(body)
            else:
                stream.write(head + body)
            if on_sent is not None:
                on_sent()  # again if the request must be sent again on a new connection
            with contextlib.suppress(HttpError, OSError):
                await stream.drain()  # a failed send may still have been answered: reading decides
            response = await responding
            if response.status == 100:
                response = await _read_response(stream, method)
            return self._finish(response, body_sent=True)
        finally:
            responding.cancel()

    def _finish(self, response: Response, *, body_sent: bool) -> Response:
        framed = "content-length" in response.headers or "transfer-encoding" in response.headers
        if not body_sent or not framed or response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    async def _connect(self) -> Stream:
        loop = asyncio.get_running_loop()
        server_hostname = self._server_hostname if self._tls else None
        _, stream = await loop.create_connection(
            Stream, self.host, self.port, ssl=self._tls, server_hostname=server_hostname
        )
        self._stream = stream
        return stream

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


async def _read_response(stream: Stream, method: str) -> Response:
    """The next response; interim 1xx responses other than `100 Continue` are skipped (`100` is returned, so
    a caller waiting to send its body knows it may)."""
    while True:
        start, headers = parse_head(await stream.read_until(b"\r\n\r\n"))
        if len(start) < 2 or not start[0].startswith("HTTP/1.") or not start[1].isdigit():
            raise HttpError(f"not an HTTP/1.x response: {' '.join(start)[:80]!r}")
        status = int(start[1])
        if status == 100:
            return Response(100, headers, b"")
        if 100 < status < 200:
            continue
        no_body = method == "HEAD" or status in (204, 304)
        body = b"" if no_body else await read_body(stream, headers, until_close=True)
        return Response(status, headers, body)


def request_head(
    method: str, target: str, host: str, headers: Mapping[str, str], length: int, expect: bool = False
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}"]
    if expect:
        lines.append("Expect: 100-continue")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
