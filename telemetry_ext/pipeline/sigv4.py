"""AWS Signature Version 4 for S3 requests (header auth, signed payload hash). Pure: the time is a parameter.

Only what a PutObject needs: the canonical request over the URI path (no query), every header we send, and
the SHA-256 of the body. Verified against AWS's published S3 example and by the tests' S3 server, which
checks every signature.
"""

from __future__ import annotations

import time

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.pipeline.digests import hmac_sha256, sha256
from telemetry_ext.urls import quote

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

ALGORITHM: Final = "AWS4-HMAC-SHA256"


def uri_path(*segments: str) -> str:
    """The path as S3 wants it in both the URL and the canonical request: each character outside the
    unreserved set (and `/`) percent-encoded once."""
    return "/" + "/".join(quote(segment, safe="/-_.~") for segment in segments)


def signed_headers(
    method: str,
    host: str,
    path: str,
    headers: Mapping[str, str],
    payload_sha256: str,
    *,
    access_key: str,
    secret_key: str,
    session_token: str | None,
    region: str,
    now: float,
    service: str = "s3",
) -> dict[str, str]:
    """`headers` plus host, x-amz-date, x-amz-content-sha256, the session token if any, and Authorization.
    `now`: seconds since the epoch."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    day = amz_date[:8]
    all_headers = {**headers, "host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256}
    if session_token:
        all_headers["x-amz-security-token"] = session_token
    canonical = {name.lower(): " ".join(value.split()) for name, value in all_headers.items()}
    names = sorted(canonical)
    signed = ";".join(names)
    canonical_request = "\n".join(
        [method, path, "", *(f"{name}:{canonical[name]}" for name in names), "", signed, payload_sha256]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, _sha256(canonical_request.encode())])
    key = _signing_key(secret_key, day, region, service)
    signature = hmac_sha256(key, string_to_sign.encode()).hex()
    authorization = f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    result = {name: value for name, value in all_headers.items() if name != "host"}
    result["Authorization"] = authorization
    return result


def payload_hash(body: bytes) -> str:
    return _sha256(body)


def _sha256(data: bytes) -> str:
    digest: str = sha256(data).hexdigest()
    return digest


def _signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac_sha256(key, part.encode())
    return key
