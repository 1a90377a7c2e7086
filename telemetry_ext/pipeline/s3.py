"""S3 PutObject on the wire, as pure functions: where a key goes, the request's headers, and what an answer
means. No I/O; `sink.py` sends.

Endpoints: virtual-hosted style `<bucket>.s3.<region>.amazonaws.com` (path style for bucket names with dots,
whose virtual host would not match S3's wildcard certificate, and on an endpoint override such as a local S3
server). Answers S3 gives that a client must act on rather than fail:
- the bucket lives in another region: 301 PermanentRedirect, 307 TemporaryRedirect, 400
  AuthorizationHeaderMalformed / IllegalLocationConstraintException; the region is in `x-amz-bucket-region`,
  or `<Region>`, or the `<Endpoint>` host;
- the signing clock is off: 403 RequestTimeTooSkewed, with the server's time in `<ServerTime>` or `Date`;
- the session token expired or was replaced: 400 ExpiredToken / 400 InvalidToken / 403 InvalidAccessKeyId;
- a create-only write (If-None-Match: *) found the object already there: 412 PreconditionFailed.
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.errors import FatalSinkError, RetryableSinkError
from telemetry_ext.http import host_header
from telemetry_ext.pipeline import sigv4
from telemetry_ext.record import Record
from telemetry_ext.urls import split_url

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final, Literal

    Verdict = Literal["written", "already-there", "wrong-region", "clock-skew", "token"]

RETRYABLE_CODES: Final = frozenset(
    {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ConditionalRequestConflict"}
)
REGION_CODES: Final = frozenset(
    {"PermanentRedirect", "TemporaryRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}
)
TOKEN_CODES: Final = frozenset({"ExpiredToken", "InvalidToken", "TokenRefreshRequired", "InvalidAccessKeyId"})
_FIELD: Final = rb"<(Code|Region|Endpoint|ServerTime|Message)>([^<]{1,300})</\1>"
_REGION_IN_HOST: Final = r"(?:^|\.)s3[.-]([a-z]{2}(?:-[a-z]+)+-\d{1,2})\.amazonaws\.com(?:\.cn)?$"
"""Patterns for S3's error answers: `re` is imported with the first one (not when the S3 client loads)."""


class Endpoint(Record):
    def __init__(self, connect_host: str, port: int, tls: bool, bucket: str, bucket_in_path: bool) -> None:
        self.connect_host = connect_host
        self.port = port
        self.tls = tls
        self.bucket = bucket
        self.bucket_in_path = bucket_in_path

    @property
    def host(self) -> str:
        """What the Host header carries and SigV4 signs."""
        return host_header(self.connect_host, self.port, tls=self.tls)

    def path(self, key: str) -> str:
        return sigv4.uri_path(self.bucket, key) if self.bucket_in_path else sigv4.uri_path(key)


def endpoint_for(bucket: str, region: str, endpoint_url: str = "") -> Endpoint:
    if endpoint_url:
        url = split_url(endpoint_url)
        return Endpoint(url.host, url.port, url.scheme == "https", bucket, True)
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if "." in bucket:
        return Endpoint(f"s3.{region}.{suffix}", 443, True, bucket, True)
    return Endpoint(f"{bucket}.s3.{region}.{suffix}", 443, True, bucket, False)


class PutOptions(Record):
    def __init__(self, sse: str = "", sse_kms_key_id: str = "", expected_bucket_owner: str = "") -> None:
        self.sse = sse
        self.sse_kms_key_id = sse_kms_key_id
        self.expected_bucket_owner = expected_bucket_owner


def put_headers(options: PutOptions, checksum_sha256: str, *, create_only: bool) -> dict[str, str]:
    headers = {
        "content-type": "application/x-ndjson",
        "content-encoding": "gzip",
        # S3 checks the body against it, and stores it; Object Lock buckets refuse a PUT without a checksum
        "x-amz-sdk-checksum-algorithm": "SHA256",
        "x-amz-checksum-sha256": checksum_sha256,
    }
    if options.sse:
        headers["x-amz-server-side-encryption"] = options.sse
    if options.sse_kms_key_id:
        headers["x-amz-server-side-encryption-aws-kms-key-id"] = options.sse_kms_key_id
    if options.expected_bucket_owner:
        headers["x-amz-expected-bucket-owner"] = options.expected_bucket_owner
    if create_only:
        headers["if-none-match"] = "*"
    return headers


class Answer(Record):
    """What an S3 answer means for the PUT that got it."""

    def __init__(
        self, verdict: Verdict, region: str | None = None, server_time: float | None = None, refusal: str = ""
    ) -> None:
        self.verdict = verdict
        self.region = region
        self.server_time = server_time
        self.refusal = refusal
        """S3's own words (code, status, message), for the error if the verdict cannot be acted on."""


def interpret(status: int, headers: Mapping[str, str], body: bytes, key: str, *, create_only: bool) -> Answer:
    """The answer's meaning, or the error to raise (RetryableSinkError / FatalSinkError)."""
    if status < 300:
        return Answer("written")
    fields = error_fields(body)
    code = fields.get("Code", "")
    refusal = f"{code or 'HTTP ' + str(status)} ({status})" + (f" {fields['Message']}" if "Message" in fields else "")
    if status == 412 and create_only:
        return Answer("already-there")
    if code in REGION_CODES or status in (301, 307):
        region = headers.get("x-amz-bucket-region") or fields.get("Region") or _region_of(fields.get("Endpoint", ""))
        if region:
            return Answer("wrong-region", region=region, refusal=refusal)
    if code == "RequestTimeTooSkewed":
        server_time = _server_time(fields.get("ServerTime"), headers.get("date"))
        if server_time is not None:
            return Answer("clock-skew", server_time=server_time, refusal=refusal)
    if code in TOKEN_CODES:
        return Answer("token", refusal=refusal)
    raise classify(status, code, key, fields.get("Message", ""))


def classify(status: int, code: str, key: str, message: str = "") -> RetryableSinkError | FatalSinkError:
    """Throttling and 5xx may pass; anything else the service refused (403, 404, 400) will not."""
    text = f"PUT {key}: {code or 'HTTP ' + str(status)} ({status})" + (f" {message}" if message else "")
    if status >= 500 or code in RETRYABLE_CODES:
        return RetryableSinkError(text)
    return FatalSinkError(text)


def error_fields(body: bytes) -> dict[str, str]:
    import re

    return {m.group(1).decode(): m.group(2).decode("utf-8", "replace") for m in re.finditer(_FIELD, body[:8192])}


def _region_of(endpoint: str) -> str | None:
    import re

    match = re.search(_REGION_IN_HOST, endpoint.strip().lower())
    return match.group(1) if match else None


def _server_time(iso: str | None, http_date: str | None) -> float | None:
    from datetime import UTC, datetime  # only when S3 says the clock is skewed

    try:
        if iso:
            return datetime.fromisoformat(iso).timestamp()
        if http_date:
            return datetime.strptime(http_date, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    return None
