"""From objects on disk to report.md, report.json and report.png."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telemetry_tools.report import chart, figures, load, render, series


@dataclass(frozen=True, slots=True)
class ReportFiles:
    markdown: Path
    json: Path
    png: Path
    report: dict[str, Any]


def build(files: Sequence[Path], source: str, out: Path) -> ReportFiles:
    """The report over `files` (gzip NDJSON objects as the extension wrote them), written into `out`."""
    loaded = load.load(files)
    per_function = figures.compute(loaded.connection)
    over_time = series.compute(loaded.connection)
    loaded.connection.close()
    report = {
        "source": source,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "objects": loaded.objects,
        "unreadable_objects": list(loaded.unreadable),
        "duplicate_events_removed": loaded.duplicates,
        "functions": per_function,
        "series": over_time,
    }
    out.mkdir(parents=True, exist_ok=True)
    files_out = ReportFiles(out / "report.md", out / "report.json", out / "report.png", report)
    files_out.markdown.write_text(render.markdown(report))
    files_out.json.write_text(render.as_json(report))
    names = [f"{f['function']} {f['version']}" for f in per_function]
    chart.draw(over_time, names, files_out.png, f"telemetry-ext: {source}")
    return files_out
