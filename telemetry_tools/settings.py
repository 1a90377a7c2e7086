"""The extension's settings that decide where it writes, read from an environment-like mapping.

Only the variable names are shared with the extension (`telemetry_ext/config.py`, SETTINGS); a test fails if
they drift. The key prefix is normalised as the extension normalises it (`pipeline/batcher.py`), so that a
policy's resource, an Athena location and the report's listing name exactly the keys the extension writes;
a test checks that too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from telemetry_tools.errors import ToolError

BUCKET: Final = "TELEMETRY_EXT_BUCKET"
PREFIX: Final = "TELEMETRY_EXT_PREFIX"
SSE: Final = "TELEMETRY_EXT_SSE"
SSE_KMS_KEY_ID: Final = "TELEMETRY_EXT_SSE_KMS_KEY_ID"
EXPECTED_BUCKET_OWNER: Final = "TELEMETRY_EXT_EXPECTED_BUCKET_OWNER"
BUCKET_REGION: Final = "TELEMETRY_EXT_BUCKET_REGION"
NAMES: Final = (BUCKET, PREFIX, SSE, SSE_KMS_KEY_ID, EXPECTED_BUCKET_OWNER, BUCKET_REGION)

DEFAULT_PREFIX: Final = "telemetry"
SSE_MODES: Final = ("", "AES256", "aws:kms")
_BUCKET_RE: Final = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_ACCOUNT_RE: Final = re.compile(r"^\d{12}$")
_REGION_RE: Final = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._=\-]")
_DOTS: Final = re.compile(r"\.{2,}")


@dataclass(frozen=True, slots=True)
class Destination:
    """Where and how the extension writes: what a policy, a template or a DDL is generated from."""

    bucket: str
    prefix: str
    """Normalised: '' or segments joined by '/', no leading or trailing slash."""
    sse: str = ""
    kms_key_id: str = ""
    expected_bucket_owner: str = ""
    bucket_region: str = ""

    @property
    def key_root(self) -> str:
        """Every key the extension writes starts with this ('' or 'prefix/')."""
        return f"{self.prefix}/" if self.prefix else ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Destination:
        """From TELEMETRY_EXT_* variables (a function's environment, or flags mapped onto those names)."""
        bucket = env.get(BUCKET, "").strip()
        if not bucket:
            raise ToolError(f"{BUCKET} is required: the bucket the extension writes to")
        if not _BUCKET_RE.match(bucket) or ".." in bucket:
            raise ToolError(f"{BUCKET}: {bucket!r} is not a valid S3 bucket name")
        sse = env.get(SSE, "").strip()
        if sse not in SSE_MODES:
            raise ToolError(f"{SSE}: {sse!r}: give one of '', 'AES256', 'aws:kms'")
        key = env.get(SSE_KMS_KEY_ID, "").strip()
        if sse == "aws:kms" and not key:
            raise ToolError(f"{SSE_KMS_KEY_ID} is required when {SSE}=aws:kms")
        if key and sse != "aws:kms":
            raise ToolError(f"{SSE} must be aws:kms when {SSE_KMS_KEY_ID} is set")
        owner = env.get(EXPECTED_BUCKET_OWNER, "").strip()
        if owner and not _ACCOUNT_RE.match(owner):
            raise ToolError(f"{EXPECTED_BUCKET_OWNER}: {owner!r} is not a 12-digit AWS account id")
        region = env.get(BUCKET_REGION, "").strip()
        if region and not is_region(region):
            raise ToolError(f"{BUCKET_REGION}: {region!r} is not an AWS region name")
        prefix = normalise_prefix(env.get(PREFIX, DEFAULT_PREFIX))
        return cls(bucket, prefix, sse, key, owner, region)


def is_region(name: str) -> bool:
    return bool(_REGION_RE.match(name))


def normalise_prefix(prefix: str) -> str:
    """The prefix as the extension puts it in keys: safe segments, no empty, '.' or '..' segment."""
    return "/".join(_safe_segment(p) for p in prefix.split("/") if p.strip() and p.strip("."))


def _safe_segment(text: str) -> str:
    return _DOTS.sub("_", _UNSAFE.sub("_", text)).strip(".") or "_"


def partition(region: str) -> str:
    """The ARN partition of a region: aws, aws-cn or aws-us-gov."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
