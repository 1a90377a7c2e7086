"""SHUTDOWN against a real local S3: what is buffered is written at once, while the extension still listens,
and what arrives during the quiet window after it."""

from __future__ import annotations

import asyncio
import time

import orjson

from telemetry_ext.config import Config
from telemetry_ext.events import decode_batch
from telemetry_ext.lambda_api import Shutdown
from telemetry_ext.lifecycle import Lifecycle, SystemClock
from telemetry_ext.pipeline.batcher import Batcher, Identity
from telemetry_ext.pipeline.ring_buffer import RingBuffer
from telemetry_ext.pipeline.sink import S3Sink
from tests.support.fault_proxy import FaultProxy
from tests.support.s3 import S3Server, decode_object

BUFFERED = [{"time": "2026-11-23T12:00:00.000Z", "type": "function", "record": "the last invoke\n"}]
LATE = [{"time": "2026-11-23T12:00:00.500Z", "type": "platform.report", "record": {"requestId": "r-1"}}]


class Intake:
    """The listener, as the lifecycle sees it: it notes when it is told to stop (the quiet window is over)."""

    in_flight = 0
    stopped_at: float | None = None

    async def stop(self, timeout_s: float) -> None:
        self.stopped_at = time.time()


async def test_shutdown_writes_the_buffer_at_once_and_what_comes_during_the_quiet_window_after_it(
    s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    # GIVEN events buffered and not yet due (the default flush interval), and an S3 that answers after 50 ms
    env = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", **s3_server.extension_env(bucket, fault_proxy.endpoint)}
    config = Config.from_env(env)
    batcher = Batcher(RingBuffer(1000, 1 << 20), Identity("0.1.0", "fn", "$LATEST", "i-1", "telemetry"), 1 << 20, 8)
    lifecycle = Lifecycle(config, batcher, S3Sink(config), SystemClock())
    lifecycle.deliver(decode_batch(orjson.dumps(BUFFERED)))
    loop, put_arrived = asyncio.get_running_loop(), asyncio.Event()

    def latency(method: str) -> float:  # called in the proxy's thread as each request arrives
        if method == "PUT":
            loop.call_soon_threadsafe(put_arrived.set)
        return 0.05

    fault_proxy.latency = latency
    intake = Intake()

    async def deliver_after_the_first_put() -> None:  # Lambda's last report, arriving while the extension listens
        await put_arrived.wait()
        lifecycle.deliver(decode_batch(orjson.dumps(LATE)))

    late = asyncio.ensure_future(deliver_after_the_first_put())
    # WHEN the environment shuts down
    summary = await lifecycle.on_shutdown(Shutdown("spindown", int(time.time() * 1000) + 1700), intake)
    await late
    # THEN the buffer went to S3 before the listener was stopped, the late event in a second object after it
    puts = [e for e in fault_proxy.log if e.method == "PUT"]
    assert len(puts) == 2 and intake.stopped_at is not None and puts[0].at < intake.stopped_at
    objects = s3_server.objects(bucket)
    assert [decode_object(objects[key])[1] for key in sorted(objects)] == [BUFFERED, LATE]  # in sequence order
    assert "written=2" in summary and "unwritten=0" in summary
