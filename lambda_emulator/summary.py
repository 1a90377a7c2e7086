"""The table the CLI prints after a session: the figures that make sense for the session's mode."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from lambda_emulator.measurements import InitRecord, SessionResult

Row = tuple[str, str]


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def summary_table(result: SessionResult) -> str:
    invokes = result.invokes
    rows: list[Row] = [
        ("mode", result.mode),
        ("limits", _limits(result.init)),
        ("init duration (ms)", f"{result.init.duration_ms:.1f}"),
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
