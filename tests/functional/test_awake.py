"""Attempt timeouts in awake time: a request in flight while the process is frozen (SIGSTOP, as Lambda's freezer
stops it) is not abandoned at the thaw because the freeze outlasted its timeout; a plain socket timeout, measured
on the monotonic clock, expires during the freeze and abandons it."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.support.layers import REPO

CLIENT = """
import socket, sys
from telemetry_ext.http.client import Connection

port, kind = int(sys.argv[1]), sys.argv[2]
try:
    if kind == "awake":
        print("answered", Connection("127.0.0.1", port).request("GET", "/", timeout_s=1.0).status)
    else:
        plain = socket.create_connection(("127.0.0.1", port), timeout=1.0)
        plain.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 0\\r\\n\\r\\n")
        print("answered", plain.recv(100).split()[1].decode())
except TimeoutError:
    print("timed out")
"""


@asynccontextmanager
async def server(answer_after_s: float | None) -> AsyncIterator[tuple[int, asyncio.Event]]:
    """Answers each request `answer_after_s` after it arrived (None: never); the event says one arrived."""
    arrived = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        arrived.set()
        if answer_after_s is None:
            await reader.read()
            return
        await asyncio.sleep(answer_after_s)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield listening.sockets[0].getsockname()[1], arrived
    finally:
        listening.close()


async def run_client(port: int, kind: str, arrived: asyncio.Event, frozen_s: float) -> str:
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, str(port), kind, cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    await asyncio.wait_for(arrived.wait(), 10)
    if frozen_s:
        client.send_signal(signal.SIGSTOP)  # frozen with the request in flight
        await asyncio.sleep(frozen_s)  # the freeze itself: the answer comes meanwhile
        client.send_signal(signal.SIGCONT)
    out, _ = await asyncio.wait_for(client.communicate(), 10)
    return out.decode().strip()


@pytest.mark.parametrize(("kind", "expected"), [("awake", "answered 200"), ("plain", "timed out")])
async def test_an_answer_that_comes_just_after_a_freeze_longer_than_the_timeout_is_taken(
    kind: str, expected: str
) -> None:
    # GIVEN a request in flight, a 2 s freeze, and the answer 0.3 s after the thaw (1 s timeout: awake 0.3 s)
    async with server(answer_after_s=2.3) as (port, arrived):
        assert await run_client(port, kind, arrived, frozen_s=2.0) == expected


async def test_an_answer_that_came_during_the_freeze_is_taken_at_the_thaw() -> None:
    async with server(answer_after_s=0.3) as (port, arrived):
        assert await run_client(port, "awake", arrived, frozen_s=2.0) == "answered 200"


async def test_a_server_that_never_answers_still_times_out_in_awake_time() -> None:
    async with server(answer_after_s=None) as (port, arrived):
        assert await run_client(port, "awake", arrived, frozen_s=0) == "timed out"
