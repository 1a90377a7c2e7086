"""Attempt timeouts in awake time: a request in flight while the process is frozen (SIGSTOP, as Lambda's freezer
stops it) is not abandoned at the thaw when its answer is already there; a plain timeout would abandon it."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.support.layers import REPO

CLIENT = """
import asyncio, sys
from telemetry_ext.awake import awake_timeout
from telemetry_ext.http.client import Connection

async def main(port: int, kind: str) -> None:
    request = Connection("127.0.0.1", port).request("GET", "/")
    try:
        response = await (awake_timeout(request, 1.0) if kind == "awake" else asyncio.wait_for(request, 1.0))
        print("answered", response.status)
    except TimeoutError:
        print("timed out")

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
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
async def test_an_answer_that_came_during_a_freeze_is_taken_at_the_thaw(kind: str, expected: str) -> None:
    async with server(answer_after_s=0.3) as (port, arrived):
        assert await run_client(port, kind, arrived, frozen_s=2.0) == expected


async def test_a_server_that_never_answers_still_times_out_in_awake_time() -> None:
    async with server(answer_after_s=None) as (port, arrived):
        assert await run_client(port, "awake", arrived, frozen_s=0) == "timed out"
