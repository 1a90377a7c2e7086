"""What S3's front end answers that moto does not check, as rules for the fault proxy (`FaultProxy.rules`).

Each rule reads a request's head and returns S3's error answer, or None to let the request through. Shapes from
AWS's S3 error reference: a request sent to the wrong regional endpoint gets 301 PermanentRedirect with the
bucket's region in `x-amz-bucket-region` and `<Endpoint>`; one signed for the wrong region gets 400
AuthorizationHeaderMalformed with `<Region>`; one signed more than 15 minutes off S3's clock gets 403
RequestTimeTooSkewed with `<ServerTime>`; an expired session token gets 400 ExpiredToken.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.support.fault_proxy import error_response, header

_HOST = re.compile(r"^(?:(?P<bucket>[a-z0-9.\-]+)\.)?s3\.(?P<region>[a-z0-9\-]+)\.amazonaws\.com$")
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9\-]+)/s3/aws4_request")


def target_bucket(head: bytes) -> tuple[str, str | None]:
    """(bucket, endpoint region) of a request: virtual-hosted or path style on S3's names; path style else."""
    host = header(head, "host").split(":")[0]
    match = _HOST.match(host)
    bucket = match.group("bucket") if match and match.group("bucket") else ""
    if not bucket:
        bucket = head.split(b" ", 2)[1].decode().lstrip("/").split("/", 1)[0]
    return bucket, match.group("region") if match else None


@dataclass
class BucketRegions:
    """Buckets live in regions: a request at another region's endpoint, or signed for another region, is
    refused as S3 refuses it."""

    regions: dict[str, str]

    def __call__(self, head: bytes) -> bytes | None:
        bucket, endpoint_region = target_bucket(head)
        home = self.regions.get(bucket)
        if home is None:
            return None
        if endpoint_region is not None and endpoint_region != home:
            message = "The bucket you are attempting to access must be addressed using the specified endpoint."
            return error_response(
                301, "PermanentRedirect", message, {"x-amz-bucket-region": home},
                Bucket=bucket, Endpoint=f"{bucket}.s3.{home}.amazonaws.com",
            )  # fmt: skip
        scope = _SCOPE.search(header(head, "authorization"))
        if scope and scope.group("region") != home:
            wrong = scope.group("region")
            message = f"The authorization header is malformed; the region '{wrong}' is wrong; expecting '{home}'"
            return error_response(400, "AuthorizationHeaderMalformed", message, Region=home)
        return None


@dataclass
class SigningClock:
    """S3 refuses requests signed more than `max_skew_s` off its own clock."""

    max_skew_s: float = 900.0
    now: Callable[[], float] = time.time

    def __call__(self, head: bytes) -> bytes | None:
        stamp = header(head, "x-amz-date")
        if not stamp:
            return None
        signed = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        server = self.now()
        if abs(signed - server) <= self.max_skew_s:
            return None
        iso = datetime.fromtimestamp(server, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        message = "The difference between the request time and the current time is too large."
        return error_response(403, "RequestTimeTooSkewed", message, RequestTime=stamp, ServerTime=iso)


@dataclass
class RevokedTokens:
    """Session tokens S3 no longer accepts."""

    tokens: set[str] = field(default_factory=set)

    def __call__(self, head: bytes) -> bytes | None:
        if header(head, "x-amz-security-token") in self.tokens:
            return error_response(400, "ExpiredToken", "The provided token has expired.")
        return None
