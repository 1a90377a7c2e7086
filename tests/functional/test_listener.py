"""The telemetry listener against real HTTP POSTs: always 200, counts what it cannot read, never binds wide."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from telemetry_ext.events import DecodedBatch
from telemetry_ext.pipeline.listener import LOOPBACK, TelemetryListener, bind_address
from tests.support.loop_thread import Collected, loop_thread
from tests.support.s3 import free_port

MAX_BODY = 64 * 1024


Delivered = Collected[DecodedBatch]


@pytest.fixture
def listener() -> Iterator[tuple[TelemetryListener, Delivered, str]]:
    received: Delivered = Collected()
    with loop_thread() as running:
        server = running.call(lambda: TelemetryListener(running.loop, received.add, MAX_BODY))
        running.call(lambda: server.start("sandbox.localdomain", free_port()))
        yield server, received, f"http://{server.address}/"
        running.call(server.close)


async def post(url: str, body: bytes, content_type: str = "application/json") -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"Content-Type": content_type}) as response,
    ):
        return response.status


async def test_a_valid_batch_is_delivered(listener: tuple[TelemetryListener, Delivered, str]) -> None:
    _, received, url = listener
    events = [{"time": "t", "type": "function", "record": "hello\n"}, {"time": "t", "type": "platform.new"}]
    assert await post(url, orjson.dumps(events)) == 200
    assert len(received.until(1)) == 1 and len(received[0].lines) == 2 and received[0].malformed == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"an": "object"}', "application/json"),
        (b"\xff\xfe\xfd", "application/json"),
        (b"[]", "text/plain"),
        (b"x" * (MAX_BODY + 1), "application/json"),
    ],
    ids=["invalid-json", "not-an-array", "not-utf8", "wrong-content-type", "too-large"],
)
async def test_bad_bodies_get_200_and_are_counted(
    listener: tuple[TelemetryListener, Delivered, str], body: bytes, content_type: str
) -> None:
    _, received, url = listener
    assert await post(url, body, content_type) == 200
    assert sum(batch.malformed for batch in received.until(1)) == (0 if body == b"[]" else 1)


async def test_the_listener_keeps_serving_after_bad_input(
    listener: tuple[TelemetryListener, Delivered, str],
) -> None:
    _, received, url = listener
    for _ in range(3):
        await post(url, b"x" * (MAX_BODY * 2))
    assert await post(url, orjson.dumps([{"time": "t", "type": "function", "record": "after"}])) == 200
    assert received.until(4)[-1].lines == (b'{"time":"t","type":"function","record":"after"}',)


async def test_the_listener_binds_to_loopback_when_the_sandbox_name_does_not_resolve(
    listener: tuple[TelemetryListener, Delivered, str],
) -> None:
    server, _, _ = listener
    assert server.address.startswith(LOOPBACK + ":")
    assert bind_address("0.0.0.0") == LOOPBACK
    assert bind_address("localhost") == "127.0.0.1"
    assert bind_address("no-such-host.invalid") == LOOPBACK


def test_lambdas_sandbox_name_is_read_from_the_hosts_file_and_an_address_is_taken_as_it_is(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(
        "127.0.0.1 localhost\n# 10.0.0.1 sandbox.localdomain\n\n169.254.100.1 sandbox.localdomain sandbox\n"
    )
    assert bind_address("sandbox.localdomain", str(hosts)) == "169.254.100.1"
    assert bind_address("169.254.7.7", str(hosts)) == "169.254.7.7"
