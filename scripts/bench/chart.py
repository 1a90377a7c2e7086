"""compare.png: a dashboard like the seed's (duration, PostRuntime, memory, cold start), one colour per variant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLOURS = {"none": "#7f7f7f", "interpreted": "#1f77b4", "native": "#d62728"}
PANELS = (
    ("Duration (ms)", ("duration_avg_ms", "duration_max_ms"), ("avg", "max")),
    ("PostRuntimeExtensionsDuration (ms)", ("post_runtime_avg_ms", "post_runtime_max_ms"), ("avg", "max")),
    ("Max memory used (MB)", ("memory_used_max_mb",), ("max",)),
    ("Cold start, median (ms)", ("init_median_ms", "init_throttled_median_ms"), ("boosted", "throttled")),
    ("Extension init CPU, median (ms)", ("ext_init_cpu_median_ms",), ("boosted init",)),
)
CPU_PANELS = (
    ("CPU-bound handler: duration (ms)", ("duration_avg_ms",), ("mean",)),
    ("CPU-bound handler: extension CPU per invoke (ms)", ("ext_cpu_per_invoke_ms",), ("median of sessions",)),
)
"""The CPU-bound workload (tests/handlers/hasher.py), where the extension's CPU is taken from the function."""


def draw(figures: dict[str, Any], memory_mb: int, target: Path, cpu: dict[str, Any] | None = None) -> None:
    """The panels of the seed's workload, then those of the CPU-bound one (`cpu`'s figures) if it ran."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = [v for v in ("none", "interpreted", "native") if v in figures]
    panels = [(figures, *panel) for panel in PANELS] + [(cpu, *panel) for panel in CPU_PANELS if cpu]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for axis, (source, title, keys, labels) in zip(axes, panels, strict=True):
        width = 0.8 / len(variants)
        for index, variant in enumerate(variants):
            values = [source[variant].get(key) or 0 for key in keys]
            positions = [k + index * width for k in range(len(keys))]
            bars = axis.bar(positions, values, width, label=variant, color=COLOURS[variant])
            axis.bar_label(bars, fmt="%.4g", fontsize=7)
        axis.set_xticks([k + width * (len(variants) - 1) / 2 for k in range(len(keys))], labels)
        axis.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    limits = ": NO LIMITS (no memory cap, no CPU quota)" if figures.get("no_limits") else ""
    fig.suptitle(f"telemetry-ext at {memory_mb} MB{limits}: no extension vs interpreted vs native (local emulator)")
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    plt.close(fig)
