"""The table the CLI prints after a session: the figures that make sense for the session's mode."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from lambda_emulator.state.measurements import InitRecord, SessionResult

Row = tuple[str, str]
MAX_FAILURE_LINES = 10


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def summary_table(result: SessionResult) -> str:
    invokes = result.invokes
    rows: list[Row] = [
        ("mode", result.mode),
        ("environment", _environment(result.environment)),
        ("limits", _limits(result.init)),
        ("init duration (ms)", f"{result.init.duration_ms:.1f}"),
        ("inits (ok / all)", f"{sum(i.status == 'success' for i in result.inits)} / {len(result.inits)}"),
        ("init CPU", f"{result.init.cpu.policy}, {result.init.cpu.vcpus:g} vCPU" if result.init.cpu else "-"),
        *_restore_rows(result),
        ("invokes (ok / all)", f"{sum(i.status == 'success' for i in invokes)} / {len(invokes)}"),
        ("duration avg / p99 / max (ms)", _three([i.duration_ms for i in invokes])),
        *_mode_rows(result),
        ("max memory used (MB)", str(max((i.max_memory_used_mb for i in invokes), default=0))),
        ("shutdown duration (ms)", f"{result.shutdown.duration_ms:.1f}"),
        *_process_rows(result),
    ]
    if result.credentials_requests:
        ok = sum(r.authorized for r in result.credentials_requests)
        refused = len(result.credentials_requests) - ok
        rows.append(("container credentials requests (ok / refused)", f"{ok} / {refused}"))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label.ljust(width)}  {value}" for label, value in rows)


def _restore_rows(result: SessionResult) -> list[Row]:
    if result.mode != "snapstart":
        return []
    restores = result.restores
    return [
        ("restores (ok / all)", f"{sum(r.status == 'success' for r in restores)} / {len(restores)}"),
        ("restore duration avg / p99 / max (ms)", _three([r.duration_ms for r in restores])),
        ("gap before each restore (s)", ", ".join(f"{r.gap_s:.2f}" for r in restores) or "-"),
        ("connections cut at restores", ", ".join(str(r.connections_cut) for r in restores) or "-"),
    ]


def _mode_rows(result: SessionResult) -> list[Row]:
    invokes = result.invokes
    if result.mode == "lmi":
        throughput = len(invokes) / result.wall_s if result.wall_s > 0 else 0.0
        return [
            ("concurrency (configured / peak in flight)", f"{result.concurrency} / {result.peak_in_flight}"),
            ("throughput (invokes/s)", f"{throughput:.1f}"),
        ]
    post_runtime = [i.post_runtime_extensions_ms for i in invokes]
    return [("PostRuntimeExtensionsDuration avg / p99 / max (ms)", _three(post_runtime))]


def _process_rows(result: SessionResult) -> list[Row]:
    rows = []
    if result.invokes:
        for name, figures in result.invokes[-1].processes.items():
            label = f"{name}: CPU ms / peak RSS MB (after last invoke)"
            rows.append((label, f"{figures.cpu_ms:.1f} / {figures.peak_rss_mb}"))
    for name, exit_record in result.shutdown.extensions.items():
        state = "in time" if exit_record.exited_in_time else "KILLED at the deadline"
        rows.append((f"{name}: exit", f"code {exit_record.exit_code}, {state}"))
    return rows


def failure_lines(result: SessionResult) -> list[str]:
    """One line per distinct failure (init, restore, invoke), with how often it happened; [] if none."""
    failures: Counter[str] = Counter()
    for init in result.inits:
        if init.status != "success":
            failures[f"init failed ({init.error_type}): {init.error_message}"] += 1
    for restore in result.restores:
        if restore.status != "success":
            failures[f"restore failed ({restore.error_type})"] += 1
    for invoke in result.invokes:
        failed_init = invoke.init is not None and invoke.init.status != "success"
        if invoke.status != "success" and not failed_init:
            what = invoke.error_message or "the function returned an error"
            failures[f"invoke failed ({invoke.error_type or invoke.status}): {what}"] += 1
    lines = [line if count == 1 else f"{line} [{count} times]" for line, count in failures.items()]
    if len(lines) > MAX_FAILURE_LINES:
        lines = [*lines[:MAX_FAILURE_LINES], f"... and {len(lines) - MAX_FAILURE_LINES} other failures (see --json)"]
    return lines


def _environment(environment: dict[str, Any]) -> str:
    if not environment:
        return "-"
    if environment.get("namespace"):
        return f"own mount namespace: /opt, /var/task, /tmp; sandbox.localdomain -> {environment['sandbox_address']}"
    return f"NO NAMESPACE ({environment.get('note')}): layers at {environment.get('opt')}; telemetry to 127.0.0.1"


def _limits(init: InitRecord) -> str:
    limits = init.limits
    if limits is None:
        return "-"
    state = "enforced" if limits.enforced else "NO LIMITS"
    return f"{state}: memory {limits.memory}, CPU {limits.cpu}, freeze {limits.freeze}"


def _three(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.fmean(values):.2f} / {percentile(values, 0.99):.2f} / {max(values):.2f}"
