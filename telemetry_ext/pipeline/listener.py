"""The Telemetry API listener: an aiohttp server that answers every POST with 200 at once.

A non-2xx answer makes Lambda re-deliver the same batch (lambda-api.md §2.2), so even a body we cannot parse
gets 200 and is counted instead. Bodies over the size cap are read to the end (so the connection stays
usable), discarded and counted. The listener never logs per request: its own output would come back to it as
`extension` telemetry.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Final

from aiohttp import web

from telemetry_ext.events import UNPARSABLE, DecodedBatch, decode_batch

LOOPBACK: Final = "127.0.0.1"
_CHUNK: Final = 65_536
_RESOLVE_TIMEOUT_S: Final = 1.0

Deliver = Callable[[DecodedBatch], None]


async def bind_address(host: str) -> str:
    """The address `host` resolves to, or loopback when it does not resolve (outside Lambda) within a
    second. Never a wildcard: the listener must be reachable only from inside the execution environment."""
    if host in ("", "0.0.0.0", "::"):
        return LOOPBACK
    try:
        async with asyncio.timeout(_RESOLVE_TIMEOUT_S):
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=socket.AF_INET)
    except (OSError, TimeoutError):
        return LOOPBACK
    return str(infos[0][4][0]) if infos else LOOPBACK


class TelemetryListener:
    def __init__(self, deliver: Deliver, max_body_bytes: int) -> None:
        self._deliver = deliver
        self._max_body = max_body_bytes
        self._runner: web.AppRunner | None = None
        self.address = ""

    async def start(self, host: str, port: int) -> None:
        # Our own bound, not aiohttp's: its limit answers 413, which makes Lambda resend the batch forever.
        app = web.Application(client_max_size=2**62)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        address = await bind_address(host)
        site = web.TCPSite(self._runner, address, port, reuse_address=True)
        await site.start()
        self.address = f"{address}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await self._read_capped(request)
        self._deliver(decode_batch(body) if body is not None else UNPARSABLE)
        return web.Response(status=200)

    async def _read_capped(self, request: web.Request) -> bytes | None:
        """The whole body, or None when it exceeds the cap (the rest is read and thrown away)."""
        if request.content_length is not None and request.content_length > self._max_body:
            await _discard(request)
            return None
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(_CHUNK):
            size += len(chunk)
            if size > self._max_body:
                await _discard(request)
                return None
            chunks.append(chunk)
        return b"".join(chunks)


async def _discard(request: web.Request) -> None:
    while await request.content.read(_CHUNK):
        pass
