"""The S3 sink against a real S3 server (moto, SigV4 on), directly and through the fault proxy."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest

from telemetry_ext.config import Config
from telemetry_ext.errors import FatalSinkError, RetryableSinkError
from telemetry_ext.events import decode_batch
from telemetry_ext.pipeline.batcher import Batch, Batcher, Identity
from telemetry_ext.pipeline.retries import write_with_retries
from telemetry_ext.pipeline.ring_buffer import RingBuffer
from telemetry_ext.pipeline.sink import S3Sink
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.s3 import S3Server, decode_object


def sink_config(s3: S3Server, bucket: str, endpoint: str, secret: str | None = None, **settings: str) -> Config:
    env = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", **s3.extension_env(bucket, endpoint, **settings)}
    if secret is not None:
        env["AWS_SECRET_ACCESS_KEY"] = secret
    return Config.from_env(env)


def a_batch(events: int = 3) -> Batch:
    batcher = Batcher(RingBuffer(100, 100_000), Identity("0.1.0", "fn", "$LATEST", "inst", "p"), 100_000, 4)
    body = orjson.dumps([{"time": "t", "type": "function", "record": f"line {i}"} for i in range(events)])
    batcher.ingest(decode_batch(body), 0.0)
    batcher.cut(time.time())
    return batcher.pending[0]


@pytest.fixture
def sink_through_proxy(s3_server: S3Server, bucket: str, fault_proxy: FaultProxy) -> Iterator[S3Sink]:
    sink = S3Sink(sink_config(s3_server, bucket, fault_proxy.endpoint, s3_timeout_ms="500"))
    yield sink
    sink.close()


def test_a_batch_is_written_where_its_key_says(s3_server: S3Server, bucket: str) -> None:
    sink = S3Sink(sink_config(s3_server, bucket, s3_server.endpoint))
    batch = a_batch()
    sink.put(batch, timeout_s=10)
    sink.close()
    objects = s3_server.objects(bucket)
    assert list(objects) == [batch.key]
    metadata, events = decode_object(objects[batch.key])
    assert metadata["events"] == 3 and [e["record"] for e in events] == ["line 0", "line 1", "line 2"]


def test_writing_the_same_batch_twice_leaves_one_object(s3_server: S3Server, bucket: str) -> None:
    sink = S3Sink(sink_config(s3_server, bucket, s3_server.endpoint))
    batch = a_batch()
    sink.put(batch, 10)
    sink.put(batch, 10)
    sink.close()
    assert list(s3_server.objects(bucket)) == [batch.key]


def test_a_wrong_secret_is_refused_by_the_server_and_is_fatal(s3_server: S3Server, bucket: str) -> None:
    sink = S3Sink(sink_config(s3_server, bucket, s3_server.endpoint, secret="not-the-secret"))
    with pytest.raises(FatalSinkError, match="SignatureDoesNotMatch"):
        sink.put(a_batch(), 10)
    sink.close()
    assert s3_server.objects(bucket) == {}


def test_throttling_is_retried_within_the_budget(
    sink_through_proxy: S3Sink, fault_proxy: FaultProxy, s3_server: S3Server, bucket: str
) -> None:
    fault_proxy.inject(Fault("status", 503, "SlowDown", method="PUT"), times=2)
    fault_proxy.inject(Fault("status", 500, "InternalError", method="PUT"))
    retries: list[int] = []
    batch = a_batch()
    write_with_retries(
        sink_through_proxy,
        batch,
        deadline=time.monotonic() + 10,
        attempts=5,
        attempt_timeout_s=2,
        on_retry=lambda: retries.append(1),
    )
    assert len(retries) == 3
    assert fault_proxy.stats.faults == {"status": 3}
    assert list(s3_server.objects(bucket)) == [batch.key]


def test_access_denied_is_not_retried(sink_through_proxy: S3Sink, fault_proxy: FaultProxy) -> None:
    fault_proxy.inject(Fault("status", 403, "AccessDenied", method="PUT"), times=5)
    retries: list[int] = []
    with pytest.raises(FatalSinkError, match="AccessDenied"):
        write_with_retries(
            sink_through_proxy,
            a_batch(),
            deadline=time.monotonic() + 10,
            attempts=5,
            attempt_timeout_s=2,
            on_retry=lambda: retries.append(1),
        )
    assert retries == [] and fault_proxy.stats.requests.get("PUT") == 1


def test_a_slow_server_costs_at_most_the_deadline(
    sink_through_proxy: S3Sink, fault_proxy: FaultProxy, s3_server: S3Server, bucket: str
) -> None:
    sink_through_proxy.put(a_batch(1), 10)  # the client is built; what follows is only the slow PUT
    fault_proxy.inject(Fault("delay", seconds=5, method="PUT"), times=3)
    started = time.monotonic()
    with pytest.raises(RetryableSinkError):
        write_with_retries(
            sink_through_proxy,
            a_batch(),
            deadline=started + 1.2,
            attempts=10,
            attempt_timeout_s=0.5,
            on_retry=lambda: None,
        )
    assert time.monotonic() - started < 1.5


def test_a_reset_connection_is_retried_at_once_and_writes_once(
    sink_through_proxy: S3Sink, fault_proxy: FaultProxy, s3_server: S3Server, bucket: str
) -> None:
    first, second = a_batch(1), a_batch(2)
    sink_through_proxy.put(first, 10)  # a pooled keep-alive connection now exists
    fault_proxy.drop_idle_connections()  # as S3 does to idle connections while Lambda is frozen
    fault_proxy.inject(Fault("reset", method="PUT"))
    retries: list[int] = []
    write_with_retries(
        sink_through_proxy,
        second,
        deadline=time.monotonic() + 10,
        attempts=3,
        attempt_timeout_s=2,
        on_retry=lambda: retries.append(1),
    )
    assert len(retries) >= 1
    objects = s3_server.objects(bucket)
    assert sorted(objects) == sorted({first.key, second.key})
