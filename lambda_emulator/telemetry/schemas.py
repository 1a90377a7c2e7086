"""Each subscriber gets records shaped by the `schemaVersion` it subscribed with (lambda-api.md §2.1, §3).

The emulator emits every event once, in the newest shape (2025-01-29; on-demand it equals 2022-12-13), and
derives the older ones from it:

- 2025-01-29: the newest (LMI's initStart carries `hostGroup`).
- 2022-12-13: no `hostGroup` in initStart (New Relic reads it under 2025-01-29 only).
- 2022-07-01: `function` and `extension` records are always the log line as a string, even with the JSON log
  format (§3.12); `platform.initStart` has only `initializationType` and `phase`, none of functionName,
  functionVersion, instanceId, instanceMaxMemory, runtimeVersion (the 2022 captures, §3.2); `platform.initReport`
  has no `status`, so no `errorType` either (the 2022 samples, §3.4).

Every other record is the same under all three (the 2022-07-01 reference lists the same fields for them).
Whether a 2022-07-01 subscriber gets SnapStart's restore events at all is UNCONFIRMED; it gets them unchanged.
"""

from __future__ import annotations

from typing import Any, Final

V2022_07_01: Final = "2022-07-01"
V2022_12_13: Final = "2022-12-13"
V2025_01_29: Final = "2025-01-29"
NEWEST: Final = V2025_01_29
LOG_TYPES: Final = frozenset({"function", "extension"})
KEPT_2022_07_01: Final[dict[str, tuple[str, ...]]] = {
    "platform.initStart": ("initializationType", "phase"),
    "platform.initReport": ("initializationType", "phase", "metrics", "spans"),
}
NEWER_THAN_2022_12_13: Final[dict[str, tuple[str, ...]]] = {"platform.initStart": ("hostGroup",)}


def shaped(event: dict[str, Any], line: str | None, schema: str) -> dict[str, Any]:
    """`event` (newest shape) as a subscriber of `schema` gets it; `line` is a log record's text as written."""
    if schema == NEWEST:
        return event
    kind, record = event["type"], event["record"]
    if schema == V2022_07_01:
        if kind in LOG_TYPES and line is not None:
            return {**event, "record": line}
        keep = KEPT_2022_07_01.get(kind)
        if keep is not None and isinstance(record, dict):
            return {**event, "record": {key: value for key, value in record.items() if key in keep}}
        return event
    dropped = NEWER_THAN_2022_12_13.get(kind, ())
    if isinstance(record, dict) and any(key in record for key in dropped):
        return {**event, "record": {key: value for key, value in record.items() if key not in dropped}}
    return event
