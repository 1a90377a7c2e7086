"""The S3 sink: PutObject of one batch, and the retry loop around it.

The AWS stack (aioboto3, aiobotocore, botocore) costs ~250 ms of CPU to import and more to build a client, so
it is imported and built by `S3Sink.open()`, which the lifecycle runs off the init path. botocore's own
retries are off: `write_with_retries` retries with capped exponential backoff inside the caller's deadline,
retries a dropped connection at once (a pooled connection goes stale while Lambda keeps the environment
frozen) and never retries what cannot pass (403, bad credentials, wrong bucket owner).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

from telemetry_ext.config import Config
from telemetry_ext.errors import FatalSinkError, RetryableSinkError
from telemetry_ext.pipeline.batcher import Batch

_RETRYABLE_CODES: Final = frozenset(
    {"SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable", "Throttling"}
)
_BACKOFF_BASE_S: Final = 0.05
_BACKOFF_CAP_S: Final = 1.0


class Sink(Protocol):
    async def put(self, batch: Batch, timeout_s: float) -> None: ...


class S3Sink:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._client: Any = None
        self._stack = contextlib.AsyncExitStack()
        self._opened: asyncio.Task[None] | None = None

    def open_soon(self) -> None:
        """Start building the client in the background; `put` waits for it."""
        if self._opened is None:
            self._opened = asyncio.create_task(self._open())

    @property
    def ready(self) -> bool:
        """The client is built: a PUT can start at once."""
        return self._opened is not None and self._opened.done() and self._client is not None

    async def _open(self) -> None:
        # Importing the AWS stack and parsing the S3 service model is CPU work of hundreds of milliseconds
        # (seconds at 128 MB): done in a thread, so the event loop keeps answering Lambda meanwhile.
        session, aio_config = await asyncio.to_thread(_prepare_session, self._config)
        config = self._config
        client_config = aio_config(
            connect_timeout=config.s3_timeout_ms / 1000,
            read_timeout=config.s3_timeout_ms / 1000,
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path" if config.s3_endpoint_url else "auto"},
            request_checksum_calculation="when_required",
        )
        self._client = await self._stack.enter_async_context(
            session.client("s3", endpoint_url=config.s3_endpoint_url or None, config=client_config)
        )

    async def put(self, batch: Batch, timeout_s: float) -> None:
        if self._opened is None:
            self.open_soon()
        assert self._opened is not None
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(self._opened)
                await self._client.put_object(**self._put_arguments(batch))
        except TimeoutError:
            raise RetryableSinkError(f"PUT {batch.key}: no answer within {timeout_s:.2f} s") from None
        except Exception as error:  # botocore and aiohttp raise many types; sort them here, once
            raise classify(error, batch.key) from error

    def _put_arguments(self, batch: Batch) -> dict[str, object]:
        config = self._config
        arguments: dict[str, object] = {
            "Bucket": config.bucket,
            "Key": batch.key,
            "Body": batch.body,
            "ContentType": "application/x-ndjson",
            "ContentEncoding": "gzip",
        }
        if config.sse:
            arguments["ServerSideEncryption"] = config.sse
        if config.sse_kms_key_id:
            arguments["SSEKMSKeyId"] = config.sse_kms_key_id
        if config.expected_bucket_owner:
            arguments["ExpectedBucketOwner"] = config.expected_bucket_owner
        return arguments

    async def close(self) -> None:
        if self._opened is not None and not self._opened.done():
            self._opened.cancel()
        with contextlib.suppress(Exception):
            await self._stack.aclose()


def _prepare_session(config: Config) -> tuple[Any, Any]:
    import aioboto3  # deferred: see the module docstring
    from aiobotocore.config import AioConfig

    credentials = config.credentials
    session = aioboto3.Session(
        aws_access_key_id=credentials.access_key_id if credentials else None,
        aws_secret_access_key=credentials.secret_access_key if credentials else None,
        aws_session_token=credentials.session_token if credentials else None,
        region_name=config.lambda_env.region,
    )
    # Load what client creation reads from disk (the S3 model, its endpoint rules, the partitions) into the
    # session's loader cache, so that creating the client on the event loop later parses no JSON.
    loader = session._session.get_component("data_loader")
    for type_name in ("service-2", "endpoint-rule-set-1"):
        loader.load_service_model("s3", type_name)
    loader.load_data("partitions")
    return session, AioConfig


def classify(error: BaseException, key: str) -> RetryableSinkError | FatalSinkError:
    """Throttling, 5xx and transport failures may pass; anything else the service refused will not."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return RetryableSinkError(f"PUT {key}: {type(error).__name__}: {error}")
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
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
