"""When the lifecycle writes, against a real local S3: a burst is cut into pending batches as it comes instead of
overflowing the ring. At SHUTDOWN, what is buffered is written at once, while the extension still listens, and
what arrives during the quiet window after it; while Lambda's last report is expected, the write waits for it
(for at most half the quiet window), so one PUT takes what two would."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from telemetry_ext.config import Config
from telemetry_ext.events import decode_batch
from telemetry_ext.lambda_api import Invoke, Shutdown
from telemetry_ext.lifecycle import Lifecycle, SystemClock
from telemetry_ext.pipeline.batcher import Batcher, Identity
from telemetry_ext.pipeline.ring_buffer import RingBuffer
from telemetry_ext.pipeline.sink import S3Sink
from tests.support.fault_proxy import FaultProxy
from tests.support.s3 import S3Server, decode_object

INIT_DONE = {"time": "2026-11-23T12:00:00.000Z", "type": "platform.initReport", "record": {"phase": "init"}}
Events = list[dict[str, Any]]
BUFFERED: Events = [INIT_DONE, {"time": "2026-11-23T12:00:00.100Z", "type": "function", "record": "the last invoke\n"}]
LATE: Events = [{"time": "2026-11-23T12:00:00.500Z", "type": "extension", "record": "another extension's last line\n"}]
REPORT: Events = [{"time": "2026-11-23T12:00:00.600Z", "type": "platform.report", "record": {"requestId": "r-1"}}]


class Intake:
    """The listener, as the lifecycle sees it: it notes when it is told to stop (the quiet window is over)."""

    in_flight = 0
    stopped_at: float | None = None

    async def stop(self, timeout_s: float) -> None:
        self.stopped_at = time.time()


def a_lifecycle(s3_server: S3Server, bucket: str, fault_proxy: FaultProxy, **settings: str) -> Lifecycle:
    env = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", **s3_server.extension_env(bucket, fault_proxy.endpoint)}
    config = Config.from_env(env | {f"TELEMETRY_EXT_{k.upper()}": v for k, v in settings.items()})
    ring = RingBuffer(config.ring_max_events, config.ring_max_bytes)
    identity = Identity("0.1.0", "fn", "$LATEST", "i-1", "telemetry")
    batcher = Batcher(ring, identity, config.batch_max_bytes, config.max_pending_batches)  # as app.py makes it
    return Lifecycle(config, batcher, S3Sink(config), SystemClock())


def deliver(lifecycle: Lifecycle, events: list[dict[str, Any]]) -> None:
    lifecycle.deliver(decode_batch(orjson.dumps(events)))


def stored_in_order(s3_server: S3Server, bucket: str) -> list[list[dict[str, Any]]]:
    objects = s3_server.objects(bucket)
    return [decode_object(objects[key])[1] for key in sorted(objects)]  # keys in sequence order


def lines(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {"time": "2026-11-23T12:00:01.000Z", "type": "function", "record": f"line {n}\n"}
        for n in range(start, start + count)
    ]


async def test_a_burst_is_cut_into_pending_batches_as_it_comes_not_dropped_by_the_ring(
    s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    # GIVEN a ring of 100 events (a flush at 50) and an S3 that takes 300 ms per PUT
    lifecycle = a_lifecycle(s3_server, bucket, fault_proxy, ring_max_events="100")
    fault_proxy.latency = lambda method: 0.3 if method == "PUT" else 0.0
    # WHEN 240 events come in four POSTs back to back, faster than a flush decision (10 ms later) or a PUT
    for start in (0, 60, 120, 180):
        deliver(lifecycle, lines(start, 60))
    summary = await lifecycle.on_shutdown(shutdown_now(), Intake())
    # THEN none is dropped: every event is in S3 once, in order
    assert " dropped=0 " in summary and "unwritten=0" in summary, summary
    stored = [event for events in stored_in_order(s3_server, bucket) for event in events]
    assert stored == lines(0, 240)


def shutdown_now() -> Shutdown:
    return Shutdown("spindown", int(time.time() * 1000) + 1700)


async def test_shutdown_writes_the_buffer_at_once_and_what_comes_during_the_quiet_window_after_it(
    s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    # GIVEN events buffered and not yet due (the default flush interval), nothing more expected from Lambda, and
    # an S3 that answers after 50 ms
    lifecycle = a_lifecycle(s3_server, bucket, fault_proxy)
    deliver(lifecycle, BUFFERED)
    loop, put_arrived = asyncio.get_running_loop(), asyncio.Event()

    def latency(method: str) -> float:  # called in the proxy's thread as each request arrives
        if method == "PUT":
            loop.call_soon_threadsafe(put_arrived.set)
        return 0.05

    fault_proxy.latency = latency

    async def deliver_after_the_first_put() -> None:  # a last line, arriving while the extension listens
        await put_arrived.wait()
        deliver(lifecycle, LATE)

    late, intake = asyncio.ensure_future(deliver_after_the_first_put()), Intake()
    # WHEN the environment shuts down
    summary = await lifecycle.on_shutdown(shutdown_now(), intake)
    await late
    # THEN the buffer went to S3 before the listener was stopped, the late line in a second object after it
    puts = [e for e in fault_proxy.log if e.method == "PUT"]
    assert len(puts) == 2 and intake.stopped_at is not None and puts[0].at < intake.stopped_at
    assert stored_in_order(s3_server, bucket) == [BUFFERED, LATE]
    assert "written=3" in summary and "unwritten=0" in summary


async def test_while_the_last_report_is_expected_the_shutdown_write_waits_for_it_and_one_put_takes_all(
    s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    # GIVEN an invoke whose report has not come yet (Lambda delivers it after SHUTDOWN), its lines buffered
    lifecycle = a_lifecycle(s3_server, bucket, fault_proxy, shutdown_quiet_ms="400")  # waits for it up to 200 ms
    await lifecycle.on_invoke(Invoke("r-1", int(time.time() * 1000) + 3000))
    deliver(lifecycle, BUFFERED)

    async def report_after_shutdown() -> None:
        await asyncio.sleep(0.02)  # Lambda's delay (5 ms on average, 40 ms at most, measured by Elastic)
        deliver(lifecycle, REPORT)

    report = asyncio.ensure_future(report_after_shutdown())
    # WHEN the environment shuts down
    summary = await lifecycle.on_shutdown(shutdown_now(), Intake())
    await report
    # THEN one PUT wrote the buffered lines and the report together
    assert len([e for e in fault_proxy.log if e.method == "PUT"]) == 1
    assert stored_in_order(s3_server, bucket) == [BUFFERED + REPORT]
    assert "written=3" in summary and "unwritten=0" in summary
