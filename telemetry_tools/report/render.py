"""The report as markdown (a summary table, then one table per function and version) and as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from telemetry_tools.report.figures import COUNTERS

COUNTER_LABELS: Final = ("received", "written", "dropped", "Lambda's dropped", "parse failures", "retries")
SUMMARY_HEADER = (
    "| function | version | invocations | cold starts | duration p50 / p99 / max (ms) "
    "| PostRuntime avg / p99 / max (ms) | memory used / size (MB) | timeouts / errors / OOM |"
)


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1, sort_keys=False) + "\n"


def markdown(report: dict[str, Any]) -> str:
    lines = ["# telemetry-ext report", ""]
    lines += [f"- {label}: {value}" for label, value in _context(report)]
    lines += ["", "## Summary", "", SUMMARY_HEADER, "|---" * 8 + "|"]
    lines += [_summary_row(f) for f in report["functions"]] or ["| (no events) |" + " |" * 7]
    for figures in report["functions"]:
        lines += ["", f"## {figures['function']} {figures['version']}", "", "| | |", "|---|---|"]
        lines += [f"| {label} | {value} |" for label, value in _detail(figures)]
    return "\n".join(lines) + "\n"


def _context(report: dict[str, Any]) -> list[tuple[str, str]]:
    functions = report["functions"]
    first = min((f["first_event"] for f in functions if f["first_event"]), default=None)
    last = max((f["last_event"] for f in functions if f["last_event"]), default=None)
    unreadable = report["unreadable_objects"]
    return [
        ("source", report["source"]),
        ("objects read", f"{report['objects']} ({len(unreadable)} unreadable{': ' if unreadable else ''}"
                         f"{', '.join(unreadable[:5])}{' …' if len(unreadable) > 5 else ''})"),
        ("events", f"{sum(f['extension']['events_in_s3'] for f in functions)} "
                   f"({report['duplicate_events_removed']} exact duplicates removed)"),
        ("time range (UTC)", f"{first or '-'} to {last or '-'}"),
        ("generated", report["generated"]),
        ("definitions", "telemetry_tools/report/figures.py (p50/p99 interpolate between closest ranks)"),
    ]  # fmt: skip


def _summary_row(f: dict[str, Any]) -> str:
    memory, outcomes = f["memory_mb"], f["outcomes"]
    cells = [
        f["function"],
        f["version"],
        str(f["invocations"]),
        str(f["cold_starts"]["count"]) + (f" + {f['restores']['count']} restores" if f["restores"]["count"] else ""),
        _values(f["duration_ms"], ("p50", "p99", "max")),
        _values(f["post_runtime_extensions_ms"], ("avg", "p99", "max")),
        f"{_cell(memory['max_used'])} / {_cell(memory['size'])}",
        f"{outcomes['timeouts']} / {outcomes['errors']} / {outcomes['out_of_memory']}",
    ]
    return "| " + " | ".join(cells) + " |"


def _detail(f: dict[str, Any]) -> list[tuple[str, str]]:
    cold, restores, memory, outcomes = f["cold_starts"], f["restores"], f["memory_mb"], f["outcomes"]
    dropped, extension = f["lambda_logs_dropped"], f["extension"]
    used = f" ({memory['used_pct']} %)" if memory["used_pct"] is not None else ""
    return [
        ("invocations (with a platform.report)", f"{f['invocations']} ({f['reports']})"),
        ("cold starts (re-inits after a reset; failed inits)",
         f"{cold['count']} ({cold['re_inits']}; {cold['init_errors']})"),
        ("init duration avg / p50 / max (ms)", _values(cold["init_duration_ms"], ("avg", "p50", "max"))),
        ("SnapStart restores; restore p50 / max (ms); replayed snapshot inits",
         f"{restores['count']}; {_values(restores['duration_ms'], ('p50', 'max'))}; {cold['snapshot_init_replays']}"),
        ("duration avg / p50 / p99 / max (ms)", _values(f["duration_ms"], ("avg", "p50", "p99", "max"))),
        ("PostRuntimeExtensionsDuration avg / p99 / max (ms)",
         _values(f["post_runtime_extensions_ms"], ("avg", "p99", "max"))),
        ("max memory used / memory size (MB)", f"{_cell(memory['max_used'])} / {_cell(memory['size'])}{used}"),
        ("timeouts / errors / out of memory", _values(outcomes, ("timeouts", "errors", "out_of_memory"))),
        ("Lambda platform.logsDropped: events / records / bytes", _values(dropped, ("events", "records", "bytes"))),
        ("extension instances / objects / missing objects",
         _values(extension, ("instances", "objects", "missing_objects"))),
        ("events in S3 / declared by the metadata lines", _values(extension, ("events_in_s3", "events_declared"))),
        ("extension counters: " + " / ".join(COUNTER_LABELS), _values(extension["counters"], COUNTERS)),
        ("event types", ", ".join(f"{name} {count}" for name, count in f["event_types"].items())),
    ]  # fmt: skip


def _values(stats: dict[str, Any], names: Sequence[str]) -> str:
    return " / ".join(_cell(stats[name]) for name in names)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.1f}"
    return str(value)
