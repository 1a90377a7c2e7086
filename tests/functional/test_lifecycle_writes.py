"""When the pipeline writes, against a real local S3: a burst is cut into pending batches as it comes instead of
overflowing the ring. At SHUTDOWN, what is buffered is written at once, while the extension still listens, and
what arrives during the quiet window after it; while Lambda's last report is expected, the write waits for it
(for at most half the quiet window), so one PUT takes what two would.

The pipeline is the extension's own (telemetry_ext/app.py) without the Lambda API: SHUTDOWN's steps run its event
loop in a thread, while the test POSTs late telemetry to its listener as Lambda would."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson

from telemetry_ext.app import Pipeline
from telemetry_ext.config import Config
from telemetry_ext.events import decode_batch
from telemetry_ext.lambda_api import Invoke, Shutdown
from tests.support.fault_proxy import FaultProxy
from tests.support.s3 import S3Server, decode_object, free_port

INIT_DONE = {"time": "2026-11-23T12:00:00.000Z", "type": "platform.initReport", "record": {"phase": "init"}}
Events = list[dict[str, Any]]
BUFFERED: Events = [INIT_DONE, {"time": "2026-11-23T12:00:00.100Z", "type": "function", "record": "the last invoke\n"}]
LATE: Events = [{"time": "2026-11-23T12:00:00.500Z", "type": "extension", "record": "another extension's last line\n"}]
REPORT: Events = [{"time": "2026-11-23T12:00:00.600Z", "type": "platform.report", "record": {"requestId": "r-1"}}]


def a_pipeline(s3_server: S3Server, bucket: str, fault_proxy: FaultProxy, **settings: str) -> Pipeline:
    """The extension's pipeline, listening on loopback, its /next a no-op."""
    env = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", **s3_server.extension_env(bucket, fault_proxy.endpoint)}
    settings = {"listener_host": "127.0.0.1", "listener_port": str(free_port()), **settings}
    config = Config.from_env(env | {f"TELEMETRY_EXT_{k.upper()}": v for k, v in settings.items()})
    pipeline = Pipeline(config, send_next=lambda: None)
    pipeline.listener.start(config.listener_host, config.listener_port)
    return pipeline


def deliver(pipeline: Pipeline, events: Events) -> None:
    """As the listener delivers a POST (before the loop runs, from the test's thread)."""
    pipeline.lifecycle.deliver(decode_batch(orjson.dumps(events)))


async def post(pipeline: Pipeline, events: Events) -> int:
    async with aiohttp.ClientSession() as session:
        url = f"http://{pipeline.listener.address}/"
        async with session.post(url, data=orjson.dumps(events)) as response:
            return response.status


def stored_in_order(s3_server: S3Server, bucket: str) -> list[Events]:
    objects = s3_server.objects(bucket)
    return [decode_object(objects[key])[1] for key in sorted(objects)]  # keys in sequence order


def lines(start: int, count: int) -> Events:
    return [
        {"time": "2026-11-23T12:00:01.000Z", "type": "function", "record": f"line {n}\n"}
        for n in range(start, start + count)
    ]


def shutdown_now() -> Shutdown:
    return Shutdown("spindown", int(time.time() * 1000) + 1700)


async def test_a_burst_is_cut_into_pending_batches_as_it_comes_not_dropped_by_the_ring(
    s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    # GIVEN a ring of 100 events (a flush at 50) and an S3 that takes 300 ms per PUT
    pipeline = a_pipeline(s3_server, bucket, fault_proxy, ring_max_events="100")
    fault_proxy.latency = lambda method: 0.3 if method == "PUT" else 0.0
    # WHEN 240 events come in four POSTs back to back, faster than a flush decision (10 ms later) or a PUT
    for start in (0, 60, 120, 180):
        deliver(pipeline, lines(start, 60))
    summary = await asyncio.to_thread(pipeline.shut_down, shutdown_now())
    # THEN none is dropped: every event is in S3 once, in order
    assert " dropped=0 " in summary and "unwritten=0" in summary, summary
    stored = [event for events in stored_in_order(s3_server, bucket) for event in events]
    assert stored == lines(0, 240)


async def test_shutdown_writes_the_buffer_at_once_and_what_comes_during_the_quiet_window_after_it(
    s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    # GIVEN events buffered and not yet due (the default flush interval), nothing more expected from Lambda, and
    # an S3 that answers after 50 ms
    pipeline = a_pipeline(s3_server, bucket, fault_proxy)
    deliver(pipeline, BUFFERED)
    loop, put_arrived = asyncio.get_running_loop(), asyncio.Event()

    def latency(method: str) -> float:  # called in the proxy's thread as each request arrives
        if method == "PUT":
            loop.call_soon_threadsafe(put_arrived.set)
        return 0.05

    fault_proxy.latency = latency
    # WHEN the environment shuts down, and a last line arrives once the first PUT is under way
    shutting_down = asyncio.ensure_future(asyncio.to_thread(pipeline.shut_down, shutdown_now()))
    await asyncio.wait_for(put_arrived.wait(), 5)
    late_answer = await post(pipeline, LATE)
    summary = await shutting_down
    # THEN the buffer went to S3 while the listener still listened (it took the late line), which came in a second
    # object after it
    assert late_answer == 200
    assert len([e for e in fault_proxy.log if e.method == "PUT"]) == 2
    assert stored_in_order(s3_server, bucket) == [BUFFERED, LATE]
    assert "written=3" in summary and "unwritten=0" in summary


async def test_while_the_last_report_is_expected_the_shutdown_write_waits_for_it_and_one_put_takes_all(
    s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    # GIVEN an invoke whose report has not come yet (Lambda delivers it after SHUTDOWN), its lines buffered
    pipeline = a_pipeline(s3_server, bucket, fault_proxy, shutdown_quiet_ms="400")  # waits for it up to 200 ms
    pipeline.lifecycle.on_invoke(Invoke("r-1", int(time.time() * 1000) + 3000))
    deliver(pipeline, BUFFERED)
    # WHEN the environment shuts down, and the report comes 20 ms later (Lambda's delay: 5 ms on average, 40 ms
    # at most, measured by Elastic)
    shutting_down = asyncio.ensure_future(asyncio.to_thread(pipeline.shut_down, shutdown_now()))
    await asyncio.sleep(0.02)
    assert await post(pipeline, REPORT) == 200
    summary = await shutting_down
    # THEN one PUT wrote the buffered lines and the report together
    assert len([e for e in fault_proxy.log if e.method == "PUT"]) == 1
    assert stored_in_order(s3_server, bucket) == [BUFFERED + REPORT]
    assert "written=3" in summary and "unwritten=0" in summary
