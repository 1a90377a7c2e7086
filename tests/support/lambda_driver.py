"""A driver that plays Lambda's part for one extension process, with every moment in the test's hands.

Not the emulator: the emulator runs a function the way Lambda does; this serves the Extensions and Telemetry APIs
to the extension alone and lets a test decide exactly when each event and each telemetry POST happens (a report
after SHUTDOWN, a POST half sent when SHUTDOWN comes), freeze and thaw the process (SIGSTOP/SIGCONT, as
Lambda's freezer stops it) and SIGKILL it at the deadline, as Lambda does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

EXTENSION_ID = str(uuid.uuid4())
Writer = asyncio.StreamWriter


@dataclass
class Driver:
    process: asyncio.subprocess.Process
    listener_port: int
    output: list[str] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    init_errors: list[bytes] = field(default_factory=list)
    _events: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    _waiting: asyncio.Event = field(default_factory=asyncio.Event)

    # -- the API the extension calls -----------------------------------------------------------------------
    async def register(self, request: web.Request) -> web.Response:
        reply = {"functionName": "fn", "functionVersion": "$LATEST", "handler": "h"}
        return web.json_response(reply, headers={"Lambda-Extension-Identifier": EXTENSION_ID})

    async def next_event(self, request: web.Request) -> web.Response:
        self._waiting.set()
        try:
            body = await self._events.get()
        finally:
            self._waiting.clear()
        return web.Response(body=body, content_type="application/json")

    async def subscribe(self, request: web.Request) -> web.Response:
        self.subscriptions.append(await request.json())
        return web.json_response("OK")

    async def init_error(self, request: web.Request) -> web.Response:
        self.init_errors.append(await request.read())
        return web.json_response({"status": "OK"}, status=202)

    # -- what the test does ---------------------------------------------------------------------------------
    async def until_waiting(self) -> None:
        """Until the extension waits on /next (init done, or the last event handled)."""
        await asyncio.wait_for(self._waiting.wait(), 30)

    def invoke(self, request_id: str, deadline_s: float = 3.0) -> None:
        deadline = int((time.time() + deadline_s) * 1000)
        self._send({"eventType": "INVOKE", "deadlineMs": deadline, "requestId": request_id})

    def shutdown(self, deadline_s: float = 1.7, reason: str = "spindown") -> int:
        """SHUTDOWN now; returns its deadline (Unix ms)."""
        deadline = int((time.time() + deadline_s) * 1000)
        self._send({"eventType": "SHUTDOWN", "deadlineMs": deadline, "shutdownReason": reason})
        return deadline

    def _send(self, event: dict[str, Any]) -> None:
        self._events.put_nowait(orjson.dumps(event))

    def freeze(self) -> None:
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    async def post(self, events: list[dict[str, Any]]) -> int:
        """One telemetry POST, as Lambda delivers it; the answer's status."""
        reader, writer = await self.open_post(orjson.dumps(events))
        try:
            return await self.finish_post(reader, writer, b"")
        finally:
            writer.close()

    async def open_post(
        self, body: bytes, sent: int | None = None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Start a POST: its head and the first `sent` bytes of its body (all of it by default)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.listener_port)
        head = (
            f"POST / HTTP/1.1\r\nHost: sandbox.localdomain:{self.listener_port}\r\nContent-Type: application/json\r\n"
        )
        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body[:sent])
        await writer.drain()
        return reader, writer

    async def finish_post(self, reader: asyncio.StreamReader, writer: Writer, rest: bytes) -> int:
        writer.write(rest)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
        await reader.readuntil(b"\r\n\r\n")
        return int(status_line.split()[1])

    async def exited(self, by_deadline_ms: int) -> tuple[int, float]:
        """(exit code, ms before the deadline it exited); SIGKILL at the deadline as Lambda does."""
        left = by_deadline_ms / 1000 - time.time()
        try:
            code = await asyncio.wait_for(self.process.wait(), max(0.0, left))
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        return code, by_deadline_ms - time.time() * 1000


@asynccontextmanager
async def driving(
    launcher: Path, env: Mapping[str, str], listener_port: int, preexec: Callable[[], None] | None = None
) -> AsyncIterator[Driver]:
    """Start the extension at `launcher` against a fresh driver; kill it at the end whatever happened. `preexec`
    runs in the child before it execs the launcher (a benchmark puts it in a cgroup of its own there)."""
    server_app = web.Application()
    holder: dict[str, Driver] = {}

    def route(name: str) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            handler = getattr(holder["driver"], name)
            response: web.StreamResponse = await handler(request)
            return response

        return handle

    server_app.router.add_post("/2020-01-01/extension/register", route("register"))
    server_app.router.add_get("/2020-01-01/extension/event/next", route("next_event"))
    server_app.router.add_post("/2020-01-01/extension/init/error", route("init_error"))
    server_app.router.add_put("/2022-07-01/telemetry", route("subscribe"))
    server = TestServer(server_app, host="127.0.0.1")
    await server.start_server()
    process_env = {
        **env,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.port}",
        "TELEMETRY_EXT_LISTENER_PORT": str(listener_port),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    process = await asyncio.create_subprocess_exec(
        str(launcher), env=process_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True, preexec_fn=preexec,
    )  # fmt: skip
    driver = Driver(process, listener_port)
    holder["driver"] = driver
    reading = asyncio.create_task(_collect(process, driver.output))
    try:
        yield driver
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        await reading
        await server.close()


async def _collect(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    assert process.stdout is not None
    async for line in process.stdout:
        lines.append(line.decode("utf-8", "replace"))
