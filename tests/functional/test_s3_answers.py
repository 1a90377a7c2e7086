"""The S3 sink as an SDK-grade client: S3's answers that say how to succeed, credentials from the container
endpoint, checksums, create-only writes and TLS trust — against moto (SigV4 on) behind a front that answers
as S3 does what moto does not check (tests/support/s3_rules.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from telemetry_ext.config import Config
from telemetry_ext.errors import FatalSinkError, RetryableSinkError
from telemetry_ext.events import decode_batch
from telemetry_ext.pipeline.batcher import Batch, Batcher, Identity
from telemetry_ext.pipeline.ring_buffer import RingBuffer
from telemetry_ext.pipeline.sink import S3Sink
from tests.support.certs import make_server_certificate
from tests.support.credentials_server import CredentialsEndpoint, serving
from tests.support.fault_proxy import FaultProxy
from tests.support.s3 import S3Server
from tests.support.s3_rules import BucketRegions, RevokedTokens, SigningClock

LAMBDA = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_REGION": "us-east-1"}
_SEQUENCE = iter(range(1_000_000))


def a_batch() -> Batch:
    """A batch under a key of its own."""
    identity = Identity("0.1.0", "fn", "$LATEST", f"writer{next(_SEQUENCE)}", "p")
    batcher = Batcher(RingBuffer(100, 100_000), identity, 100_000, 4)
    batcher.ingest(decode_batch(b'[{"time":"t","type":"function","record":"x"}]'), 0.0)
    batcher.cut(time.time())
    return batcher.pending[0]


def container_env(url: str, token: str) -> dict[str, str]:
    """Credentials from the container endpoint only, as on SnapStart and Managed Instances."""
    return {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": token}  # fmt: skip


def config(s3: S3Server, bucket: str, endpoint: str, **env: str) -> Config:
    return Config.from_env({**LAMBDA, **s3.extension_env(bucket, endpoint), **env})


@pytest.fixture
def front(fault_proxy: FaultProxy) -> Iterator[FaultProxy]:
    yield fault_proxy
    fault_proxy.rules.clear()


def test_a_bucket_in_another_region_is_found_from_s3s_answer_and_remembered(
    s3_server: S3Server, bucket: str, front: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a bucket in eu-west-1 and an extension in a us-east-1 function that does not say so
    front.rules.append(BucketRegions({bucket: "eu-west-1"}))
    sink = S3Sink(config(s3_server, bucket, front.endpoint))
    # WHEN it writes two batches
    first, second = a_batch(), a_batch()
    sink.put(first, 10)
    sink.put(second, 10)
    sink.close()
    # THEN the first PUT was refused once for its region, re-signed for eu-west-1, and the second went there at once
    assert [e.status for e in front.log] == [400, 200, 200]
    assert sink.region == "eu-west-1"
    assert sorted(s3_server.objects(bucket)) == sorted([first.key, second.key])
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "telemetry-ext WARNING" in line]
    assert "eu-west-1" in line and "TELEMETRY_EXT_BUCKET_REGION" in line


def test_a_skewed_clock_is_corrected_from_s3s_server_time(s3_server: S3Server, bucket: str, front: FaultProxy) -> None:
    front.rules.append(SigningClock())
    sink = S3Sink(config(s3_server, bucket, front.endpoint), clock=lambda: time.time() - 3600)  # an hour behind
    batch = a_batch()
    sink.put(batch, 10)
    sink.close()
    assert [e.status for e in front.log] == [403, 200]
    assert list(s3_server.objects(bucket)) == [batch.key]


async def test_container_credentials_are_fetched_with_the_token_and_refetched_when_s3_says_expired(
    s3_server: S3Server, bucket: str, front: FaultProxy
) -> None:
    # GIVEN credentials only from the container endpoint (as SnapStart and Managed Instances give them)
    endpoint = CredentialsEndpoint(s3_server.session_credentials, authorization="the-token")
    async with serving(endpoint):
        env = container_env(endpoint.url, "the-token")
        sink = S3Sink(config(s3_server, bucket, front.endpoint, **env))
        await asyncio.to_thread(sink.put, a_batch(), 10)
        # WHEN S3 stops accepting the session token it was given
        front.rules.append(RevokedTokens({endpoint.tokens[0]}))
        await asyncio.to_thread(sink.put, a_batch(), 10)
        sink.close()
    # THEN the endpoint was asked again, with the right token each time, and the write succeeded
    assert endpoint.requests == [True, True]
    assert [e.status for e in front.log] == [200, 400, 200]
    assert len(s3_server.objects(bucket)) == 2


async def test_container_credentials_are_refreshed_before_they_expire(s3_server: S3Server, bucket: str) -> None:
    endpoint = CredentialsEndpoint(s3_server.session_credentials, authorization="t", ttl_s=600)
    now = [time.time()]
    async with serving(endpoint):
        env = container_env(endpoint.url, "t")
        endpoint.now = now[0]
        sink = S3Sink(config(s3_server, bucket, s3_server.endpoint, **env), clock=lambda: now[0])
        await asyncio.to_thread(sink.put, a_batch(), 10)
        now[0] += 200  # 400 s left of 600: still fresh (refreshed 5 minutes before, or at half-life if shorter)
        await asyncio.to_thread(sink.put, a_batch(), 10)
        fetched_while_fresh = len(endpoint.requests)
        now[0] += 150  # 250 s left: refreshed
        await asyncio.to_thread(sink.put, a_batch(), 10)
        sink.close()
    assert fetched_while_fresh == 1 and len(endpoint.requests) == 2


async def test_a_wrong_authorization_token_is_a_clear_error_and_loses_nothing(s3_server: S3Server, bucket: str) -> None:
    endpoint = CredentialsEndpoint(s3_server.session_credentials, authorization="right")
    async with serving(endpoint):
        env = container_env(endpoint.url, "wrong")
        sink = S3Sink(config(s3_server, bucket, s3_server.endpoint, **env))
        with pytest.raises(RetryableSinkError, match=r"credentials endpoint .*HTTP 401"):
            await asyncio.to_thread(sink.put, a_batch(), 10)
        sink.close()
    assert endpoint.requests == [False] and s3_server.objects(bucket) == {}


def test_every_put_carries_a_sha256_checksum_that_s3_stores(s3_server: S3Server, bucket: str) -> None:
    sink = S3Sink(config(s3_server, bucket, s3_server.endpoint))
    batch = a_batch()
    sink.put(batch, 10)
    sink.close()
    stored = s3_server.client().get_object(Bucket=bucket, Key=batch.key, ChecksumMode="ENABLED")
    body = stored["Body"].read()
    assert stored["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_a_create_only_batch_is_written_once_and_found_there_by_a_second_writer(
    s3_server: S3Server, bucket: str, front: FaultProxy
) -> None:
    batch = a_batch()
    batch.create_only = True
    sink = S3Sink(config(s3_server, bucket, front.endpoint))
    sink.put(batch, 10)
    sink.put(batch, 10)  # a second copy of a SnapStart snapshot holding the same batch
    sink.close()
    assert [e.status for e in front.log] == [200, 412]
    assert list(s3_server.objects(bucket)) == [batch.key]


def test_tls_is_verified_against_aws_ca_bundle_and_a_failure_names_the_trust_store(
    s3_server: S3Server, bucket: str, tmp_path: Path
) -> None:
    upstream = s3_server.endpoint.rsplit(":", 1)
    good = make_server_certificate(tmp_path / "good", ["localhost"])
    other = make_server_certificate(tmp_path / "other", ["localhost"], ca_name="another CA")
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(good.chain, good.key)
    proxy = FaultProxy(upstream[0].removeprefix("http://"), int(upstream[1]), host="localhost", tls=context).start()
    try:
        trusted = S3Sink(config(s3_server, bucket, proxy.endpoint, AWS_CA_BUNDLE=str(good.ca)))
        trusted.put(a_batch(), 10)
        trusted.close()
        untrusted = S3Sink(config(s3_server, bucket, proxy.endpoint, AWS_CA_BUNDLE=str(other.ca)))
        with pytest.raises(FatalSinkError) as refused:
            untrusted.put(a_batch(), 10)
        untrusted.close()
    finally:
        proxy.stop()
    assert len(s3_server.objects(bucket)) == 1
    assert "certificate" in str(refused.value) and f"{other.ca} (AWS_CA_BUNDLE bundle)" in str(refused.value)
