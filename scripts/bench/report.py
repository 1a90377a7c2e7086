"""Aggregate the sessions into the comparison's columns; render the Markdown table and check the targets.

Sessions with a boosted init (on-demand, the default) give every figure; init-only sessions with a throttled init
(provisioned concurrency, re-init after a reset) give the second cold start. A figure measured without a memory
cap or CPU quota is marked "no limits" (in the JSON, the table heading, the targets and a line above the table).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from lambda_emulator.cgroups.host import LIMIT_NEEDS
from lambda_emulator.cli import percentile

SEED_ANCHORS = (
    "Seed anchors (AWS blog, CloudWatch, 128 MB, .NET handler sleeping 500 ms): Rust EventCollector PostRuntime "
    "avg 1.08 ms / max 555 ms, +19 MB memory, +95 ms cold start, 12.3 MB binary; .NET NativeAOT 0.77 / 297 ms, "
    "36.4 MB."
)
TARGETS = (
    ("PostRuntime avg ≤ 1 ms", "post_runtime_avg_ms", 1.0),
    ("PostRuntime max ≤ 20 ms", "post_runtime_max_ms", 20.0),
    ("avg duration within 1 % of no extension", "duration_delta_pct", 1.0),
    ("peak RSS ≤ 19 MB", "ext_peak_rss_mb", 19.0),
    ("zip ≤ 12.3 MB", "zip_mb", 12.3),
)
"""The seed's anchors (the Rust EventCollector's figures)."""
ISSUE_12_TARGETS = (
    ("extension init CPU (exec → first /next), full core ≤ 25 ms", "ext_init_cpu_median_ms", 25.0),
    ("extension init CPU ≤ 0.5 x interpreted", "init_cpu_ratio", 0.5),
    ("cold start added vs no extension, boosted init ≤ 95 ms", "init_added_ms", 95.0),
    ("cold start added, throttled init ≤ 400 ms", "init_throttled_added_ms", 400.0),
    ("extension peak RSS ≤ 12 MB", "ext_peak_rss_mb", 12.0),
    ("layer zip ≤ 8 MB", "zip_mb", 8.0),
    ("CPU per invoke ≤ 1.0 x interpreted", "cpu_per_invoke_ratio", 1.0),
)
"""Issue 12 (cold start), at the memory size measured first: init CPU is the emulator's, with a boosted init of one
vCPU (a full core); the start-up section below measures the same without the emulator."""
ISSUE_21_TARGETS = (
    ("CPU-bound handler: mean duration added ≤ +2 %", "cpu", "duration_delta_pct", 2.0),
    ("CPU-bound handler: extension CPU per invoke ≤ 0.3 ms", "cpu", "ext_cpu_per_invoke_ms", 0.3),
    ("CPU-bound handler: extension CPU per invoke ≤ 0.7 x interpreted", "cpu", "cpu_per_invoke_ratio", 0.7),
    ("init CPU, exec → first /next, full core, launcher and threads ≤ 15 ms", "startup", "first_next_cpu_median_ms",
     15.0),
    ("cold start added, boosted init ≤ 40 ms", "sleep", "init_added_ms", 40.0),
    ("cold start added, throttled init ≤ 300 ms", "sleep", "init_throttled_added_ms", 300.0),
    ("PostRuntime avg ≤ 1 ms (CPU-bound handler)", "cpu", "post_runtime_avg_ms", 1.0),
    ("PostRuntime max ≤ 20 ms (CPU-bound handler)", "cpu", "post_runtime_max_ms", 20.0),
    ("extension peak RSS ≤ 12 MB", "sleep", "ext_peak_rss_mb", 12.0),
    ("layer zip ≤ 8 MB", "sleep", "zip_mb", 8.0),
)  # fmt: skip
"""Issue 21 (the extension's CPU): (name, source, key, limit); the source is a workload's figures or the start-up
bench's summary (full core, no emulator)."""
EXTENSION = "telemetry-ext"
VARIANTS = ("none", "interpreted", "native")


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def summarise(
    sessions: list[dict[str, Any]], builds: dict[str, dict[str, Any]], memory_mb: int, workload: str = "sleep"
) -> dict[str, Any]:
    """Per variant: the figures of the table, from every session of that variant at `memory_mb` that ran
    `workload` (the init-only throttled sessions, which run no invoke, count for every workload)."""
    out: dict[str, Any] = {}
    at_memory = [
        s for s in sessions
        if s["memory_mb"] == memory_mb and (s.get("workload", "sleep") == workload or _policy(s) == "throttled")
    ]  # fmt: skip
    for variant in VARIANTS:
        boosted = [s for s in at_memory if s["variant"] == variant and _policy(s) == "boosted"]
        throttled = [s for s in at_memory if s["variant"] == variant and _policy(s) == "throttled"]
        if boosted:
            out[variant] = _variant(boosted, builds.get(variant, {}))
            out[variant].update(_throttled(throttled))
            out[variant]["limits_enforced"] = all(_enforced(s) for s in boosted + throttled)
    base = out.get("none")
    for figures in out.values():
        if base:
            figures["init_added_ms"] = _diff(figures["init_median_ms"], base["init_median_ms"])
            figures["init_throttled_added_ms"] = _diff(
                figures["init_throttled_median_ms"], base["init_throttled_median_ms"]
            )
            figures["duration_delta_ms"] = _diff(figures["duration_avg_ms"], base["duration_avg_ms"])
            figures["duration_delta_pct"] = round(100 * figures["duration_delta_ms"] / base["duration_avg_ms"], 2)
            figures["memory_used_delta_mb"] = _diff(figures["memory_used_max_mb"], base["memory_used_max_mb"])
    if "native" in out and "interpreted" in out:
        out["ratios_native_over_interpreted"] = _ratios(out["native"], out["interpreted"])
        out["native"]["init_cpu_ratio"] = out["ratios_native_over_interpreted"]["init_cpu"]
        out["native"]["cpu_per_invoke_ratio"] = out["ratios_native_over_interpreted"]["cpu_per_invoke"]
    out["no_limits"] = not all(_enforced(s) for s in at_memory)
    out["init_vcpus"] = {policy: _vcpus(at_memory, policy) for policy in ("boosted", "throttled")}
    return out


def _policy(session: dict[str, Any]) -> str:
    return str(session.get("init_cpu", "boosted"))


def _enforced(session: dict[str, Any]) -> bool:
    """Limits enforced during the whole session; a record without the mark counts as "no limits"."""
    records = [session["init"], *session["invokes"], session["shutdown"]]
    return all((record.get("limits") or {}).get("enforced", False) for record in records)


def _vcpus(sessions: list[dict[str, Any]], policy: str) -> float | None:
    return next((s["init"]["cpu"]["vcpus"] for s in sessions if _policy(s) == policy and s["init"].get("cpu")), None)


def _throttled(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    inits = [s["init"]["duration_ms"] for s in sessions]
    return {
        "init_throttled_median_ms": _median(inits),
        "init_throttled_avg_ms": round(statistics.fmean(inits), 1) if inits else None,
        "init_throttled_max_ms": max(inits, default=None),
    }


def no_limits_line(sessions: list[dict[str, Any]]) -> str | None:
    """The line printed above the table when any session ran without a memory cap or CPU quota."""
    bare = [s for s in sessions if not _enforced(s)]
    if not bare:
        return None
    limits = bare[0]["init"].get("limits") or {}
    return (
        f"NO LIMITS: {len(bare)} of {len(sessions)} sessions ran without a memory cap or CPU quota (memory "
        f"{limits.get('memory', 'unknown')}, CPU {limits.get('cpu', 'unknown')}): their cold starts, durations and "
        f"memory are not Lambda's at that memory size. Limits need {LIMIT_NEEDS}."
    )


def limits_summary(sessions: list[dict[str, Any]]) -> str:
    marks = {tuple(sorted((s["init"].get("limits") or {}).items())) for s in sessions}
    described = []
    for mark in sorted(marks):
        limits = dict(mark)
        state = "enforced" if limits.get("enforced") else "NO LIMITS"
        described.append(f"{state}: memory cap {limits.get('memory')}, CPU quota {limits.get('cpu')}, "
                         f"freeze {limits.get('freeze')}")  # fmt: skip
    return "; ".join(described) or "unknown"


def _diff(a: float | None, b: float | None) -> float | None:
    return round(a - b, 3) if a is not None and b is not None else None


def _variant(sessions: list[dict[str, Any]], build: dict[str, Any]) -> dict[str, Any]:
    invokes = [i for s in sessions for i in s["invokes"]]
    post = [i["post_runtime_extensions_ms"] for i in invokes]
    durations = [i["duration_ms"] for i in invokes]
    inits = [s["init"]["duration_ms"] for s in sessions]
    figures: dict[str, Any] = {
        "sessions": len(sessions),
        "invocations": len(invokes),
        "zip_mb": round(build["zip_bytes"] / 1e6, 2) if build else None,
        "unzipped_mb": round(build["unzipped_bytes"] / 1e6, 2) if build else None,
        "build_s": build.get("build_seconds") if build else None,
        "init_median_ms": _median(inits),
        "init_avg_ms": round(statistics.fmean(inits), 1),
        "init_max_ms": max(inits),
        "duration_avg_ms": round(statistics.fmean(durations), 3),
        "duration_max_ms": max(durations),
        "post_runtime_avg_ms": round(statistics.fmean(post), 3),
        "post_runtime_p99_ms": percentile(post, 0.99),
        "post_runtime_max_ms": max(post),
        "memory_used_max_mb": max(i["max_memory_used_mb"] for i in invokes),
        "reports_in_s3": sum(s["s3"]["reports"] for s in sessions),
        "s3_objects": sum(s["s3"]["objects"] for s in sessions),
    }
    if any(s["init"]["extensions_ready_ms"] for s in sessions):
        figures.update(_extension_figures(sessions))
    return figures


def _extension_figures(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    ready, init_cpu, first_invoke, per_invoke, rss = [], [], [], [], []
    totals: dict[str, int] = {"received": 0, "written": 0, "dropped": 0, "lambda_dropped": 0, "retries": 0}
    for session in sessions:
        ready.append(session["init"]["extensions_ready_ms"][EXTENSION])
        name = next(n for n in session["init"]["processes"] if n.startswith("ext-"))
        cpu_at_init = session["init"]["processes"][name]["cpu_ms"]
        init_cpu.append(cpu_at_init)
        # The first invoke finishes what init left of the S3 client's load (telemetry_ext/pipeline/lazy_sink.py,
        # started with the extension's first /next) and opens the first connection: counted apart, so that the
        # steady cost per invoke is not a one-off divided by however many invokes the session had.
        cpu = [invoke["processes"][name]["cpu_ms"] for invoke in session["invokes"]]
        first_invoke.append(cpu[0] - cpu_at_init)
        if len(cpu) > 1:
            per_invoke.append((cpu[-1] - cpu[0]) / (len(cpu) - 1))
        rss.append(session["shutdown"]["extensions"][name]["peak_rss_mb"])
        for key in totals:
            totals[key] += session["extension_summary"].get(key, 0)
    return {
        "ext_ready_median_ms": _median(ready),
        "ext_init_cpu_median_ms": _median(init_cpu),
        "ext_cpu_first_invoke_ms": _median(first_invoke),
        "ext_cpu_per_invoke_ms": _median(per_invoke),
        "ext_peak_rss_mb": _median(rss),
        "events": totals,
        "exited_in_time": all(e["exited_in_time"] for s in sessions for e in s["shutdown"]["extensions"].values()),
    }


def _ratios(native: dict[str, Any], interpreted: dict[str, Any]) -> dict[str, float | None]:
    def ratio(key: str) -> float | None:
        a, b = native.get(key), interpreted.get(key)
        return round(a / b, 3) if a is not None and b else None

    return {
        "zip_size": ratio("zip_mb"),
        "init_cpu": ratio("ext_init_cpu_median_ms"),
        "peak_rss": ratio("ext_peak_rss_mb"),
        "cpu_per_invoke": ratio("ext_cpu_per_invoke_ms"),
    }


ROWS = (
    ("layer zip / unzipped (MB)", ("zip_mb", "unzipped_mb")),
    ("build time (s)", ("build_s",)),
    ("cold start, boosted init median / avg / max (ms)", ("init_median_ms", "init_avg_ms", "init_max_ms")),
    ("cold start, throttled init (provisioned concurrency / re-init) median / avg / max (ms)",
     ("init_throttled_median_ms", "init_throttled_avg_ms", "init_throttled_max_ms")),
    ("init added vs no extension, boosted init, median (ms)", ("init_added_ms",)),
    ("init added vs no extension, throttled init, median (ms)", ("init_throttled_added_ms",)),
    ("extension ready (to first /next) median (ms)", ("ext_ready_median_ms",)),
    ("extension init CPU median (ms)", ("ext_init_cpu_median_ms",)),
    ("PostRuntimeExtensionsDuration avg / p99 / max (ms)",
     ("post_runtime_avg_ms", "post_runtime_p99_ms", "post_runtime_max_ms")),
    ("duration avg / max (ms)", ("duration_avg_ms", "duration_max_ms")),
    ("avg duration delta vs none (ms / %)", ("duration_delta_ms", "duration_delta_pct")),
    ("extension peak RSS median (MB)", ("ext_peak_rss_mb",)),
    ("extension CPU, first invoke median (ms)", ("ext_cpu_first_invoke_ms",)),
    ("extension CPU per invoke after the first, median (ms)", ("ext_cpu_per_invoke_ms",)),
    ("max memory used / delta vs none (MB)", ("memory_used_max_mb", "memory_used_delta_mb")),
    ("S3 objects (PUTs that landed)", ("s3_objects",)),
    ("platform.report in S3 / invocations", ("reports_in_s3", "invocations")),
)  # fmt: skip


CPU_ROWS = (
    ("duration mean / max (ms)", ("duration_avg_ms", "duration_max_ms")),
    ("mean duration added vs none (ms / %)", ("duration_delta_ms", "duration_delta_pct")),
    ("extension CPU per invoke after the first, median of sessions (ms)", ("ext_cpu_per_invoke_ms",)),
    ("extension CPU, first invoke median (ms)", ("ext_cpu_first_invoke_ms",)),
    ("PostRuntimeExtensionsDuration avg / p99 / max (ms)",
     ("post_runtime_avg_ms", "post_runtime_p99_ms", "post_runtime_max_ms")),
    ("S3 objects (PUTs that landed)", ("s3_objects",)),
    ("platform.report in S3 / invocations", ("reports_in_s3", "invocations")),
)  # fmt: skip
"""The CPU-bound workload's table: what the extension's CPU costs a function that computes."""


def cpu_markdown(figures_by_memory: dict[int, dict[str, Any]]) -> list[str]:
    lines = ["## The CPU-bound handler (SHA-256 over 100-499 blocks of 64 KiB a call, tests/handlers/hasher.py)", ""]
    for memory, figures in figures_by_memory.items():
        variants = [v for v in VARIANTS if v in figures]
        lines += [f"### {memory} MB" + (": NO LIMITS" if figures.get("no_limits") else ""), ""]
        lines += ["| | " + " | ".join(variants) + " |", "|---" * (len(variants) + 1) + "|"]
        for label, keys in CPU_ROWS:
            cells = [" / ".join(_cell(figures[v].get(k)) for k in keys) for v in variants]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def issue_21_verdicts(sleep: dict[str, Any], cpu: dict[str, Any] | None, startup: dict[str, Any] | None) -> list[str]:
    """Issue 21's targets for the native flavour, each from its own source (a workload, or the start-up bench)."""
    sources = {"sleep": sleep.get("native", {}), "cpu": (cpu or {}).get("native", {}),
               "startup": (startup or {}).get("native", {})}  # fmt: skip
    no_limits = sleep.get("no_limits") or (cpu or {}).get("no_limits")
    lines = ["", "Targets (native), issue 21, the extension's CPU:", ""]
    for name, source, key, limit in ISSUE_21_TARGETS:
        value = sources[source].get(key)
        verdict = "n/a" if value is None else ("met" if value <= limit else "MISSED")
        measured = "" if value is None else f" ({_cell(value)})"
        marked = " (no limits)" if no_limits and source != "startup" else ""
        lines.append(f"- {name}: {verdict}{measured}{marked}")
    return lines


def markdown(
    figures_by_memory: dict[int, dict[str, Any]],
    context: dict[str, Any],
    startup: str | None = None,
    cpu_by_memory: dict[int, dict[str, Any]] | None = None,
    startup_summary: dict[str, Any] | None = None,
) -> str:
    """The tables per memory size, the targets, the CPU-bound workload's tables (`cpu_by_memory`), and `startup`
    (scripts/bench/startup.py's table and summary) if given."""
    lines = ["# Native vs interpreted vs no extension", ""]
    lines += [f"- {key}: {value}" for key, value in context.items()]
    lines += ["", SEED_ANCHORS, ""]
    for memory, figures in figures_by_memory.items():
        variants = [v for v in VARIANTS if v in figures]
        lines += _heading(memory, figures)
        lines += ["| | " + " | ".join(variants) + " |", "|---" * (len(variants) + 1) + "|"]
        for label, keys in ROWS:
            cells = [" / ".join(_cell(figures[v].get(k)) for k in keys) for v in variants]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        events = [_event_counts(figures[v].get("events")) for v in variants]
        lines.append("| events received / written / dropped / lambda dropped / retries | " + " | ".join(events) + " |")
        ratios = figures.get("ratios_native_over_interpreted")
        if ratios:
            lines += ["", "Native / interpreted: " + ", ".join(f"{k} {_cell(v)}" for k, v in ratios.items())]
        if "native" in figures:
            lines += ["", "Targets (native), the seed's anchors:", ""]
            lines += _verdicts(TARGETS, figures)
            if memory == next(iter(figures_by_memory)):
                lines += ["", "Targets (native), issue 12, cold start:", ""]
                lines += _verdicts(ISSUE_12_TARGETS, figures)
                lines += issue_21_verdicts(figures, (cpu_by_memory or {}).get(memory), startup_summary)
        lines.append("")
    if cpu_by_memory:
        lines += cpu_markdown(cpu_by_memory)
    if startup:
        lines += ["## Start-up, full core, without the emulator (scripts/bench/startup.py)", "", startup]
    return "\n".join(lines)


def _verdicts(targets: Sequence[tuple[str, str, float]], figures: dict[str, Any]) -> list[str]:
    lines = []
    for name, key, limit in targets:
        value = figures["native"].get(key)
        verdict = "n/a" if value is None else ("met" if value <= limit else "MISSED")
        measured = "" if value is None else f" ({_cell(value)})"
        lines.append(f"- {name}: {verdict}{measured}" + (" (no limits)" if figures.get("no_limits") else ""))
    return lines


def _heading(memory: int, figures: dict[str, Any]) -> list[str]:
    if figures.get("no_limits"):
        return [
            f"## {memory} MB: NO LIMITS (no memory cap, no CPU quota: not Lambda's figures at {memory} MB)",
            "",
            f"**No limits**: these sessions ran without a memory cap or CPU quota. Limits need {LIMIT_NEEDS}.",
            "",
        ]
    vcpus = figures.get("init_vcpus") or {}
    cpu = ", ".join(f"{policy} {value:g} vCPU" for policy, value in vcpus.items() if value is not None)
    return [f"## {memory} MB", "", f"CPU during init: {cpu}; after init {memory}/1769 vCPU.", ""]


def _event_counts(events: dict[str, int] | None) -> str:
    if not events:
        return "-"
    return " / ".join(str(events[n]) for n in ("received", "written", "dropped", "lambda_dropped", "retries"))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
