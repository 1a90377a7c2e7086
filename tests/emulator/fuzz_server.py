"""The emulator's API server alone, on a loop of its own in a thread, for the fuzz tests: they speak raw HTTP to it
from the test's thread, so a request that hangs it, or a handler that crashes, shows as a missing or a 5xx answer."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import orjson

from lambda_emulator.api.server import ApiHandlers, serve
from lambda_emulator.state.credentials import CredentialsEndpoint
from lambda_emulator.state.extensions import ExtensionRegistry, FunctionInfo
from lambda_emulator.state.notify import Notifier
from lambda_emulator.state.runtime import RuntimeState
from lambda_emulator.telemetry.hub import TelemetryHub

EXTERNAL = "fuzzed-extension"
ANSWER_S = 5.0
"""How long any request may take to be answered (every route but the runtime's /next answers at once)."""
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(slots=True)
class FuzzServer:
    port: int
    loop: asyncio.AbstractEventLoop
    handlers: ApiHandlers

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the server's loop (to read or change the state it serves)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(ANSWER_S)

    def exchange(self, raw: bytes, half_close: bool = True) -> Answer | None:
        """Send `raw` bytes on a new connection (then, with `half_close`, say that nothing more will come) and read
        the answer until the server closes it; None if it closed it without answering. Fails (socket.timeout) if
        the connection is still open after ANSWER_S. The server cancels the handler of a client that half-closes
        (handler_cancellation), so a whole request is sent with `Connection: close` and no half-close."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=ANSWER_S) as connection:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.sendall(raw)
                if half_close:
                    connection.shutdown(socket.SHUT_WR)
            received = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := connection.recv(65536):  # socket.timeout (a hang) propagates: the test fails
                    received += chunk
        return parse(received)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:9001", "Connection: close",
                 f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]  # fmt: skip
        answer = self.exchange(("\r\n".join(lines) + "\r\n\r\n").encode() + body, half_close=False)
        assert answer is not None, f"{method} {path}: the connection closed without an answer"
        return answer

    def alive(self) -> bool:
        """The server still answers a plain request at once (restore/next is refused outside SnapStart)."""
        return self.request("GET", "/2018-06-01/runtime/restore/next").status == 404


def parse(received: bytes) -> Answer | None:
    if not received:
        return None
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body)


@contextlib.contextmanager
def fuzz_server() -> Iterator[FuzzServer]:
    """The four APIs over fresh state: a runtime without an invocation, a registry expecting EXTERNAL, open
    subscriptions, container credentials."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[ApiHandlers, aiohttp.ClientSession, aiohttp.web.AppRunner, str]:
        notifier, session = Notifier(), aiohttp.ClientSession()
        registry = ExtensionRegistry({EXTERNAL}, FunctionInfo("fn", "$LATEST", "h", "123456789012"), notifier)
        credentials = CredentialsEndpoint(("AKIAFUZZ", "secret", None), 600)
        handlers = ApiHandlers(RuntimeState(notifier), registry, TelemetryHub(session), lambda: True,
                               credentials=credentials)  # fmt: skip
        runner, address = await serve(handlers)
        return handlers, session, runner, address

    handlers, session, runner, address = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield FuzzServer(int(address.rsplit(":", 1)[1]), loop, handlers)
    finally:

        async def stop() -> None:
            await handlers.telemetry.close()
            await runner.cleanup()
            await session.close()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
