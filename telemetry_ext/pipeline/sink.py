"""The S3 sink: PutObject of one batch, and the retry loop around it.

`write_with_retries` retries with capped exponential backoff inside the caller's deadline, retries a dropped
connection at once (a pooled connection goes stale while Lambda keeps the environment frozen) and never
retries what cannot pass (403, bad credentials, wrong bucket owner).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol
from urllib.parse import urlsplit

from telemetry_ext.config import Config
from telemetry_ext.errors import FatalSinkError, RetryableSinkError
from telemetry_ext.http import Connection, HttpError, host_header
from telemetry_ext.pipeline import sigv4
from telemetry_ext.pipeline.batcher import Batch

_RETRYABLE_CODES: Final = frozenset(
    {"SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable", "Throttling"}
)
_ERROR_CODE: Final = re.compile(rb"<Code>([^<]{1,100})</Code>")
_CA_BUNDLES: Final = (
    "/etc/pki/tls/certs/ca-bundle.crt",  # Amazon Linux 2 and 2023 (every Lambda runtime)
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
)
_BACKOFF_BASE_S: Final = 0.05
_BACKOFF_CAP_S: Final = 1.0


class Sink(Protocol):
    async def put(self, batch: Batch, timeout_s: float) -> None: ...


class S3Sink:
    """PutObject, signed with SigV4 (`sigv4.py`), on one keep-alive connection (`http.py`).

    No AWS SDK: aioboto3/botocore cost ~300 ms of CPU to import and ~60 ms to build a client, seconds at
    128 MB (7 % of a core). Measured with them at 128 MB: after 3 short invokes the stack was still loading
    at SHUTDOWN and the extension was SIGKILLed at the deadline with its last batch unwritten, 3 runs of 3.
    """

    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._endpoint = endpoint_for(config)
        self._connection: Connection | None = None

    async def put(self, batch: Batch, timeout_s: float) -> None:
        path = self._endpoint.path(batch.key)
        headers = self._signed(self._endpoint.host, path, batch.body)
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._http().request("PUT", path, headers, batch.body)
        except TimeoutError:
            raise RetryableSinkError(f"PUT {batch.key}: no answer within {timeout_s:.2f} s") from None
        except HttpError as error:  # refused, reset, closed (a dead kept-alive connection is retried inside)
            raise RetryableSinkError(f"PUT {batch.key}: {error}") from None
        if response.status >= 300:
            raise classify(response.status, _error_code(response.body), batch.key)

    def _signed(self, host: str, path: str, body: bytes) -> dict[str, str]:
        config = self._config
        credentials = config.credentials
        if credentials is None:
            raise FatalSinkError("no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
        headers = {"content-type": "application/x-ndjson", "content-encoding": "gzip"}
        if config.sse:
            headers["x-amz-server-side-encryption"] = config.sse
        if config.sse_kms_key_id:
            headers["x-amz-server-side-encryption-aws-kms-key-id"] = config.sse_kms_key_id
        if config.expected_bucket_owner:
            headers["x-amz-expected-bucket-owner"] = config.expected_bucket_owner
        return sigv4.signed_headers(
            "PUT",
            host,
            path,
            headers,
            sigv4.payload_hash(body),
            access_key=credentials.access_key_id,
            secret_key=credentials.secret_access_key,
            session_token=credentials.session_token,
            region=config.lambda_env.region,
            now=datetime.fromtimestamp(self._clock(), UTC),
        )

    def _http(self) -> Connection:
        if self._connection is None:
            endpoint = self._endpoint
            tls = _tls_context() if endpoint.tls else None
            self._connection = Connection(endpoint.connect_host, endpoint.port, tls)
        return self._connection

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a key goes: path style on an endpoint override (local S3 servers) and for bucket names with
    dots (TLS), virtual-hosted style on AWS otherwise. `host` is what is signed (the Host header)."""

    connect_host: str
    port: int
    tls: bool
    bucket: str
    bucket_in_path: bool

    @property
    def host(self) -> str:
        return host_header(self.connect_host, self.port, tls=self.tls)

    def path(self, key: str) -> str:
        return sigv4.uri_path(self.bucket, key) if self.bucket_in_path else sigv4.uri_path(key)


def endpoint_for(config: Config) -> Endpoint:
    bucket = config.bucket
    if config.s3_endpoint_url:
        parts = urlsplit(config.s3_endpoint_url)
        tls = parts.scheme == "https"
        return Endpoint(parts.hostname or "", parts.port or (443 if tls else 80), tls, bucket, True)
    region = config.lambda_env.region
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if "." in bucket:
        return Endpoint(f"s3.{region}.{suffix}", 443, True, bucket, True)
    return Endpoint(f"{bucket}.s3.{region}.{suffix}", 443, True, bucket, False)


def _tls_context() -> ssl.SSLContext:
    """The system's CA bundle, wherever this distribution keeps it (Amazon Linux, Debian, Alpine). Built on
    the first PUT to an https endpoint, not at init: loading the bundle is the costly part (asyncio has
    already imported ssl)."""
    for cafile in _CA_BUNDLES:
        if os.path.exists(cafile):
            return ssl.create_default_context(cafile=cafile)
    return ssl.create_default_context()


def _error_code(body: bytes) -> str:
    match = _ERROR_CODE.search(body)
    return match.group(1).decode("utf-8", "replace") if match else ""


def classify(status: int, code: str, key: str) -> RetryableSinkError | FatalSinkError:
    """Throttling and 5xx may pass; anything else the service refused (403, 404, 400) will not."""
    message = f"PUT {key}: {code or 'HTTP ' + str(status)} ({status})"
    if status >= 500 or code in _RETRYABLE_CODES:
        return RetryableSinkError(message)
    return FatalSinkError(message)


Sleep = Callable[[float], Awaitable[None]]


async def write_with_retries(
    sink: Sink,
    batch: Batch,
    *,
    deadline: float,
    attempts: int,
    attempt_timeout_s: float,
    on_retry: Callable[[], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """PUT `batch` until it succeeds, raising the last error when attempts or time (`deadline`, on `clock`)
    run out. A `FatalSinkError` is raised at once."""
    for attempt in range(attempts):
        left = deadline - clock()
        if left <= 0:
            raise RetryableSinkError(f"PUT {batch.key}: out of time after {attempt} attempts")
        try:
            await sink.put(batch, min(attempt_timeout_s, left))
            return
        except RetryableSinkError:
            if attempt + 1 == attempts:
                raise
            on_retry()
            pause = backoff_s(attempt)
            if deadline - clock() <= pause:
                raise
            await sleep(pause)


def backoff_s(attempt: int) -> float:
    """0 for the first retry (a stale connection is the usual cause), then full-jitter exponential."""
    if attempt == 0:
        return 0.0
    return random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt))
