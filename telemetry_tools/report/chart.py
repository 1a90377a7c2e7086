"""report.png: the seed's CloudWatch dashboard, four panels over time, one colour per function and version.

    Duration avg/max · PostRuntimeExtensionsDuration avg/max · memory used vs memory size ·
    cold starts (bars) with init duration avg/max

Averages are solid lines, maxima dashed, memory size dotted. At most MAX_LINES functions are drawn (the
most invoked); the markdown and JSON hold every function.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

MAX_LINES: Final = 6
COLOURS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def draw(series: dict[str, Any], ordered_names: list[str], target: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates

    mdates: Any = dates  # its date helpers carry no annotations
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = [n for n in ordered_names if n in series["functions"]][:MAX_LINES]
    fig, axes = plt.subplots(2, 2, figsize=(13, 8), sharex=True)
    (duration, post), (memory, cold) = axes
    cold_init = cold.twinx()
    width_days = series["bucket_seconds"] / 86400
    for index, name in enumerate(names):
        colour = COLOURS[index % len(COLOURS)]
        invokes, inits = series["functions"][name]["invokes"], series["functions"][name]["inits"]
        times = [_time(p["t"]) for p in invokes]
        _pair(duration, times, invokes, "duration", colour, name)
        _pair(post, times, invokes, "post", colour, name)
        memory.plot(
            times, [p["memory_used_max"] for p in invokes], "-o", color=colour, markersize=3, label=f"{name} used"
        )
        memory.plot(times, [p["memory_size"] for p in invokes], ":", color=colour, label=f"{name} size")
        init_times = [_time(p["t"]) for p in inits]
        offset = width_days * (index / max(1, len(names)) - 0.4)
        cold.bar([mdates.date2num(t) + offset for t in init_times], [p["cold_starts"] for p in inits],
                 width=width_days * 0.8 / max(1, len(names)), color=colour, alpha=0.35, align="edge")  # fmt: skip
        _pair(cold_init, init_times, inits, "init", colour, name)
    titles = ("Duration (ms)", "PostRuntimeExtensionsDuration (ms)", "Memory used vs memory size (MB)",
              "Cold starts (bars) and init duration")  # fmt: skip
    for axis, label in zip((duration, post, memory, cold), titles, strict=True):
        axis.set_title(label, fontsize=10)
        axis.grid(alpha=0.3)
    cold.set_ylabel("cold starts")
    cold.yaxis.set_major_locator(MaxNLocator(integer=True))
    cold_init.set_ylabel("init duration (ms)")
    for axis in (memory, cold):
        axis.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M:%S"))
        axis.tick_params(axis="x", labelrotation=20, labelsize=8)
    if names:
        duration.legend(fontsize=7, loc="best")
        memory.legend(fontsize=7, loc="best")
    else:
        duration.text(0.5, 0.5, "no platform.report in the data", ha="center", transform=duration.transAxes)
    fig.suptitle(f"{title} (buckets of {series['bucket_seconds']} s, UTC; avg solid, max dashed)", fontsize=11)
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=100)
    plt.close(fig)


def _pair(axis: Any, times: list[datetime], points: list[dict[str, Any]], stem: str, colour: str, name: str) -> None:
    axis.plot(times, [p[f"{stem}_avg"] for p in points], "-o", color=colour, markersize=3, label=f"{name} avg")
    axis.plot(times, [p[f"{stem}_max"] for p in points], "--", color=colour, label=f"{name} max")


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
