"""The extension's configuration: one frozen object, read from the environment here and nowhere else.

Every `TELEMETRY_EXT_*` setting is declared once in `SETTINGS` (name, default, bounds, meaning); the README's
table is checked against that list by a test. `Config.from_env` validates everything and raises a
`ConfigError` that names the variable and what it accepts. What Lambda itself provides (the API, the function,
the kind of environment, credentials, the trust store) is read by `lambda_env.py`, from the same mapping.
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.errors import ConfigError
from telemetry_ext.lambda_env import LambdaEnv, credential_source, trust_source
from telemetry_ext.record import Record
from telemetry_ext.urls import split_url

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, Final

    from telemetry_ext.lambda_env import CredentialSource, TrustSource

    _Parser = Callable[["Setting", str], object]

PREFIX: Final = "TELEMETRY_EXT_"
TELEMETRY_TYPES: Final = frozenset({"platform", "function", "extension"})
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
SSE_MODES: Final = ("", "AES256", "aws:kms")
RESERVED_PORT: Final = 9001


class Setting(Record):
    """One environment variable: its field, default and documented meaning (for the README table)."""

    def __init__(self, field: str, default: str, meaning: str, low: int | None = None, high: int | None = None) -> None:
        self.field = field
        self.default = default
        self.meaning = meaning
        self.low = low
        self.high = high

    @property
    def env(self) -> str:
        return PREFIX + self.field.upper()


SETTINGS: Final = (
    Setting("bucket", "", "S3 bucket for the batches (required)"),
    Setting("prefix", "telemetry", "key prefix before the partitions"),
    Setting("types", "platform,function,extension", "Telemetry API types, comma-separated"),
    Setting("buffer_max_items", "1000", "Telemetry API buffering maxItems", 1_000, 10_000),
    Setting("buffer_max_bytes", "262144", "Telemetry API buffering maxBytes", 262_144, 1_048_576),
    Setting("buffer_timeout_ms", "25", "Telemetry API buffering timeoutMs", 25, 30_000),
    Setting("listener_host", "sandbox.localdomain", "listener bind address (loopback if it does not resolve)"),
    Setting("listener_port", "9071", "listener port (not 9001)", 1024, 65_535),
    Setting("listener_max_body_bytes", "4194304", "largest telemetry POST kept", 65_536, 67_108_864),
    Setting("ring_max_events", "20000", "ring buffer bound in events", 100, 10_000_000),
    Setting("ring_max_bytes", "8388608", "ring buffer bound in bytes", 65_536, 1_073_741_824),
    Setting("batch_max_bytes", "4194304", "uncompressed NDJSON bytes per S3 object", 4_096, 67_108_864),
    Setting("max_pending_batches", "8", "cut batches kept for retry", 1, 1_000),
    Setting("flush_interval_ms", "10000", "write when the oldest buffered event is this old", 0, 86_400_000),
    Setting("flush_budget_ms", "0", "longest wait on S3 before calling /next on INVOKE", 0, 60_000),
    Setting("shutdown_grace_ms", "1000", "longest wait at SHUTDOWN for the last platform.report", 0, 1_500),
    Setting("shutdown_quiet_ms", "100", "at SHUTDOWN, stop listening once no telemetry came for this long", 0, 1_500),
    Setting("shutdown_margin_ms", "200", "exit this long before the SHUTDOWN deadline", 50, 1_500),
    Setting("s3_timeout_ms", "2000", "timeout of one S3 request", 100, 60_000),
    Setting("s3_max_attempts", "4", "attempts per batch per flush", 1, 20),
    Setting("s3_endpoint_url", "", "S3 endpoint override (local S3 servers)"),
    Setting("bucket_region", "", "the bucket's region (default AWS_REGION; S3's answer corrects a wrong one)"),
    Setting("sse", "", "server-side encryption: empty, AES256 or aws:kms"),
    Setting("sse_kms_key_id", "", "KMS key id when TELEMETRY_EXT_SSE=aws:kms"),
    Setting("expected_bucket_owner", "", "12-digit account id the bucket must belong to"),
    Setting("log_level", "info", "debug, info, warning or error"),
)
_BY_FIELD: Final = {s.field: s for s in SETTINGS}
# The shapes below are checked by hand, not with `re`: importing it (and compiling the patterns) was start-up cost.
_LOWER: Final = frozenset("abcdefghijklmnopqrstuvwxyz")
_DIGITS: Final = frozenset("0123456789")
_BUCKET_EDGE: Final = _LOWER | _DIGITS
_BUCKET_INSIDE: Final = _BUCKET_EDGE | frozenset(".-")


def is_bucket_name(text: str) -> bool:
    """`[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]` without `..` (S3's rules for a bucket usable virtual-hosted or not)."""
    return (
        3 <= len(text) <= 63 and text[0] in _BUCKET_EDGE and text[-1] in _BUCKET_EDGE
        and set(text) <= _BUCKET_INSIDE and ".." not in text
    )  # fmt: skip


def is_region_name(text: str) -> bool:
    """`[a-z]{2}(-[a-z]+)+-[0-9]{1,2}`, such as eu-west-1 or us-gov-east-1."""
    parts = text.split("-")
    return (
        len(parts) >= 3 and len(parts[0]) == 2 and all(p and set(p) <= _LOWER for p in parts[:-1])
        and 1 <= len(parts[-1]) <= 2 and set(parts[-1]) <= _DIGITS
    )  # fmt: skip


class Config(Record):
    """Everything the extension needs to know, validated. Built only by `from_env` (one field per setting)."""

    bucket: str
    prefix: str
    types: tuple[str, ...]
    buffer_max_items: int
    buffer_max_bytes: int
    buffer_timeout_ms: int
    listener_host: str
    listener_port: int
    listener_max_body_bytes: int
    ring_max_events: int
    ring_max_bytes: int
    batch_max_bytes: int
    max_pending_batches: int
    flush_interval_ms: int
    flush_budget_ms: int
    shutdown_grace_ms: int
    shutdown_quiet_ms: int
    shutdown_margin_ms: int
    s3_timeout_ms: int
    s3_max_attempts: int
    s3_endpoint_url: str
    bucket_region: str
    sse: str
    sse_kms_key_id: str
    expected_bucket_owner: str
    log_level: str
    lambda_env: LambdaEnv
    credentials: CredentialSource
    trust: TrustSource

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        values: dict[str, Any] = {s.field: _parse(s, env.get(s.env, s.default).strip()) for s in SETTINGS}
        _check_relations(values)
        lambda_env = LambdaEnv.from_env(env)
        values["bucket_region"] = values["bucket_region"] or lambda_env.region
        config = cls()
        vars(config).update(values, lambda_env=lambda_env, credentials=credential_source(env), trust=trust_source(env))
        return config


def _parse(setting: Setting, raw: str) -> object:
    parser = _PARSERS.get(setting.field, _parse_text)
    return parser(setting, raw)


def _parse_text(setting: Setting, raw: str) -> str:
    return raw


def _parse_int(setting: Setting, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(setting.env, f"{raw!r} is not a whole number") from None
    assert setting.low is not None and setting.high is not None
    if not setting.low <= value <= setting.high:
        raise ConfigError(setting.env, f"{value} is outside {setting.low}..{setting.high}")
    return value


def _parse_bucket(setting: Setting, raw: str) -> str:
    if not raw:
        raise ConfigError(setting.env, "is required: the S3 bucket to write telemetry to")
    if not is_bucket_name(raw):
        raise ConfigError(setting.env, f"{raw!r} is not a valid S3 bucket name")
    return raw


def _parse_types(setting: Setting, raw: str) -> tuple[str, ...]:
    types = tuple(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))
    unknown = sorted(set(types) - TELEMETRY_TYPES)
    if not types or unknown:
        allowed = ", ".join(sorted(TELEMETRY_TYPES))
        raise ConfigError(setting.env, f"{raw!r}: give one or more of {allowed}")
    return types


def _parse_choice(choices: tuple[str, ...]) -> _Parser:
    def parse(setting: Setting, raw: str) -> str:
        value = raw.lower() if setting.field == "log_level" else raw
        if value not in choices:
            raise ConfigError(setting.env, f"{raw!r}: give one of {', '.join(repr(c) for c in choices)}")
        return value

    return parse


def _parse_account(setting: Setting, raw: str) -> str:
    if raw and not (len(raw) == 12 and set(raw) <= _DIGITS):
        raise ConfigError(setting.env, f"{raw!r} is not a 12-digit AWS account id")
    return raw


def _parse_region(setting: Setting, raw: str) -> str:
    if raw and not is_region_name(raw):
        raise ConfigError(setting.env, f"{raw!r} is not an AWS region name (such as eu-west-1)")
    return raw


def _parse_url(setting: Setting, raw: str) -> str:
    if raw:
        try:
            split_url(raw)
        except ValueError:
            raise ConfigError(setting.env, f"{raw!r} is not an http(s) URL") from None
    return raw


_PARSERS: Final[dict[str, _Parser]] = {
    **{s.field: _parse_int for s in SETTINGS if s.low is not None},
    "bucket": _parse_bucket,
    "types": _parse_types,
    "sse": _parse_choice(SSE_MODES),
    "log_level": _parse_choice(LOG_LEVELS),
    "expected_bucket_owner": _parse_account,
    "s3_endpoint_url": _parse_url,
    "bucket_region": _parse_region,
}


def _check_relations(values: Mapping[str, Any]) -> None:
    if values["listener_port"] == RESERVED_PORT:
        raise ConfigError(_BY_FIELD["listener_port"].env, "9001 is reserved by Lambda")
    if values["sse"] == "aws:kms" and not values["sse_kms_key_id"]:
        raise ConfigError(_BY_FIELD["sse_kms_key_id"].env, "is required when TELEMETRY_EXT_SSE=aws:kms")
    if values["sse_kms_key_id"] and values["sse"] != "aws:kms":
        raise ConfigError(_BY_FIELD["sse"].env, "must be aws:kms when TELEMETRY_EXT_SSE_KMS_KEY_ID is set")
    if values["batch_max_bytes"] > values["ring_max_bytes"]:
        raise ConfigError(_BY_FIELD["batch_max_bytes"].env, "must not exceed TELEMETRY_EXT_RING_MAX_BYTES")
