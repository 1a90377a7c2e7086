"""The extension's one shutdown line, `telemetry-ext shutdown reason=... received=N ...`, as numbers."""

from __future__ import annotations

from collections.abc import Iterable


def parse_summary(output: Iterable[str]) -> dict[str, int]:
    """The numeric fields of the first summary line in `output` (an extension's stdout/stderr lines)."""
    for line in output:
        if "telemetry-ext shutdown" in line:
            pairs = (item.split("=", 1) for item in line.split()[2:])
            return {key: int(value) for key, value in pairs if value.isdigit()}
    return {}
