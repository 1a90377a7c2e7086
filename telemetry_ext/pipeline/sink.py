"""The S3 sink: PutObject of one batch over TLS with SigV4.

No AWS SDK: aioboto3/botocore cost ~300 ms of CPU to import and ~60 ms to build a client, seconds at 128 MB
(7 % of a core); with them the extension was SIGKILLed at SHUTDOWN with its last batch unwritten, 3 runs of 3.
That makes this module the S3 client, held to an SDK's standard: credentials as Lambda gives them, refreshed
(`credentials.py`); the trust store found as the SDKs find it (`tls.py`); a bucket in another region found
from S3's answer and remembered; the signing clock corrected when S3 says it is skewed; checksums sent; attempts
timed in awake time, not frozen time (`awake.py`).

One `put` is one attempt (with the corrections S3's answer asks for); `retries.py` decides on the next. It
blocks: it runs in the writer's thread (`writer.py`), which imports it there, after init.
"""

from __future__ import annotations

import time

from telemetry_ext import TYPE_CHECKING, log
from telemetry_ext.config import Config
from telemetry_ext.errors import FatalSinkError, RetryableSinkError
from telemetry_ext.http.client import Connection, Response
from telemetry_ext.http.wire import CertificateError, HttpError
from telemetry_ext.lambda_env import EnvironmentKeys
from telemetry_ext.pipeline import s3, sigv4
from telemetry_ext.pipeline.batcher import Batch, Payload
from telemetry_ext.pipeline.credentials import CredentialsProvider
from telemetry_ext.pipeline.tls import TlsContext

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final

_CORRECTIONS: Final = 3
"""Answers acted on at once within one attempt: the bucket's region, the signing clock, a fresh token."""


class S3Sink:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._options = s3.PutOptions(config.sse, config.sse_kms_key_id, config.expected_bucket_owner)
        self.credentials = CredentialsProvider(config.credentials, clock, config.trust)
        self.tls = TlsContext(config.trust)
        self.region = config.bucket_region
        self._endpoint = s3.endpoint_for(config.bucket, self.region, config.s3_endpoint_url)
        self._skew_s = 0.0
        self._connection: Connection | None = None
        self._connection_restored = False
        """The connection was opened before a SnapStart restore: the next request opens a new one."""

    def prepare(self) -> None:
        """Do the costly part of the first PUT now (the TLS context), off any deadline."""
        if self._endpoint.tls:
            self.tls.prepare()

    def put(self, batch: Batch, timeout_s: float) -> None:
        payload = batch.payload()  # gzip + SHA-256
        for _ in range(_CORRECTIONS + 1):
            try:
                response = self._send(batch, payload, timeout_s)
            except TimeoutError:
                raise RetryableSinkError(f"PUT {batch.key}: no answer within {timeout_s:.2f} s") from None
            except CertificateError as error:
                trust = self.tls.store.describe()
                if self.tls.widen():  # not one of S3's roots (a TLS proxy, say): the whole bundle decides
                    log.debug("TLS: %s did not verify %s; loading the whole bundle", trust, error)
                    self.forget_connection()
                    continue
                message = f"PUT {batch.key}: TLS certificate not trusted ({error}); trust store: {trust}"
                raise FatalSinkError(message) from None
            except HttpError as error:  # refused, reset, closed (a dead kept-alive connection is retried inside)
                raise RetryableSinkError(f"PUT {batch.key}: {error}") from None
            answer = s3.interpret(response.status, response.headers, response.body, batch.key,
                                  create_only=batch.create_only)  # fmt: skip
            if answer.verdict in ("written", "already-there"):
                return
            self._correct(answer, batch.key)
        raise RetryableSinkError(f"PUT {batch.key}: S3 kept redirecting or refusing after {_CORRECTIONS} corrections")

    def _send(self, batch: Batch, payload: Payload, timeout_s: float) -> Response:
        credentials = self.credentials.get()
        endpoint = self._endpoint
        path = endpoint.path(batch.key)
        headers = sigv4.signed_headers(
            "PUT",
            endpoint.host,
            path,
            s3.put_headers(self._options, payload.sha256_base64, create_only=batch.create_only),
            payload.sha256_hex,
            access_key=credentials.access_key_id,
            secret_key=credentials.secret_access_key,
            session_token=credentials.session_token,
            region=self.region,
            now=self._clock() + self._skew_s,
        )
        return self._http().request("PUT", path, headers, payload.body, timeout_s)

    def _correct(self, answer: s3.Answer, key: str) -> None:
        """Act on an answer that says how to succeed: another region, another clock, a fresh token."""
        if answer.verdict == "wrong-region" and answer.region is not None and answer.region != self.region:
            log.warning(
                "bucket %s is in %s, not %s: writing there (set TELEMETRY_EXT_BUCKET_REGION=%s to save a request)",
                self._config.bucket, answer.region, self.region, answer.region,
            )  # fmt: skip
            self.region = answer.region
            self._endpoint = s3.endpoint_for(self._config.bucket, self.region, self._config.s3_endpoint_url)
            self.forget_connection()
        elif answer.verdict == "clock-skew" and answer.server_time is not None:
            self._skew_s = answer.server_time - self._clock()
            log.warning("S3 says this clock is off by %.1f s: signing with S3's time", self._skew_s)
        elif answer.verdict == "token" and not isinstance(self._config.credentials, EnvironmentKeys):
            self.credentials.invalidate()  # the endpoint has fresh ones
        else:  # the environment's keys cannot be refreshed; the region or clock S3 gave did not help
            raise FatalSinkError(f"PUT {key}: {answer.refusal}")

    def _http(self) -> Connection:
        if self._connection_restored:
            self._connection_restored = False
            self.forget_connection()
        if self._connection is None:
            endpoint = self._endpoint
            self._connection = Connection(endpoint.connect_host, endpoint.port, self.tls if endpoint.tls else None)
        return self._connection

    def forget_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def after_restore(self) -> None:
        """A SnapStart restore: connections opened before the snapshot are dead, and so may be the token. The
        next PUT opens a new connection; a PUT under way is not cut off (where restores continue one process, as
        in the local emulator, it may have been answered already: cutting it made a retry write its object a
        second time)."""
        self._connection_restored = True
        self.credentials.invalidate()
        self._skew_s = 0.0

    def close(self) -> None:
        self.forget_connection()
        self.credentials.forget_connection()
