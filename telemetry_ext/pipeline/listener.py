"""The Telemetry API listener: answers every POST with 200 at once, then decodes it.

A non-2xx answer makes Lambda re-deliver the same batch (lambda-api.md §2.2), so even a body we cannot parse
gets 200 and is counted instead. Bodies over the size cap are read to the end (so the connection stays
usable), discarded and counted. The listener never logs per request: its own output would come back to it as
`extension` telemetry.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.events import UNPARSABLE, DecodedBatch, decode_batch
from telemetry_ext.http.server import OkServer

if TYPE_CHECKING:
    from typing import Final

LOOPBACK: Final = "127.0.0.1"
_RESOLVE_TIMEOUT_S: Final = 1.0

Deliver = Callable[[DecodedBatch], None]


async def bind_address(host: str) -> str:
    """The address `host` resolves to, or loopback when it does not resolve (outside Lambda) within a
    second. Never a wildcard: the listener must be reachable only from inside the execution environment."""
    if host in ("", "0.0.0.0", "::"):
        return LOOPBACK
    # An ASCII name is given as bytes: a str goes through the idna codec, whose import (unicodedata, stringprep)
    # is start-up cost, for a name that needs no encoding.
    name = host.encode("ascii") if host.isascii() else host
    try:
        lookup = asyncio.get_running_loop().getaddrinfo(name, None, family=socket.AF_INET)
        infos = await asyncio.wait_for(lookup, _RESOLVE_TIMEOUT_S)
    except (OSError, TimeoutError):
        return LOOPBACK
    return str(infos[0][4][0]) if infos else LOOPBACK


class TelemetryListener:
    def __init__(self, deliver: Deliver, max_body_bytes: int) -> None:
        self._deliver = deliver
        self._server = OkServer(self._handle, max_body_bytes)
        self.address = ""

    async def start(self, host: str, port: int) -> None:
        address = await bind_address(host)
        await self._server.start(address, port)
        self.address = f"{address}:{port}"

    @property
    def in_flight(self) -> int:
        """Requests under way: their head arrived, their answer is not sent yet."""
        return self._server.in_flight

    async def stop(self, timeout_s: float = 1.0) -> None:
        """No new connection; requests under way are read and answered (within `timeout_s`)."""
        await self._server.stop(timeout_s)

    def _handle(self, body: bytes | None) -> None:
        self._deliver(decode_batch(body) if body is not None else UNPARSABLE)
