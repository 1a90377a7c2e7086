"""Benchmark: the report over 10,000 invocations (generated objects in the extension's layout), per phase.

    .venv/bin/python scripts/bench/report_bench.py [--invocations 10000] [--functions 4] [--repeats 3] [--s3]

Writes dist/bench/report_bench.json and .md (median of the repeats, and each repeat). With --s3 it also
times fetching the objects from a local S3 server (moto) with the report's own fetch. Target: the report
command (a new process: imports, read, figures, series, markdown/JSON, PNG) in at most 10 s on the
project's 2-core machine; the in-process phases are timed too.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from telemetry_tools.report import chart, figures, load, render, series  # noqa: E402
from telemetry_tools.report.fetch import fetch, local_files  # noqa: E402
from tests.tools import synthetic  # noqa: E402

TARGET_S = 10.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invocations", type=int, default=10_000, help="in all, spread over the functions")
    parser.add_argument("--functions", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="also time the fetch from a local S3 server")
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "bench")
    return parser.parse_args()


def timed_report(files: list[Path], out: Path) -> dict[str, float]:
    """The report's phases, as build.build runs them, each timed."""
    phases: dict[str, float] = {}
    start = mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = round(now - mark, 3)
        mark = now

    loaded = load.load(files)
    lap("read objects (DuckDB)")
    per_function = figures.compute(loaded.connection)
    lap("figures per function")
    over_time = series.compute(loaded.connection)
    lap("series for the panels")
    report = {"source": "bench", "generated": "", "objects": loaded.objects, "unreadable_objects": [],
              "duplicate_events_removed": loaded.duplicates, "functions": per_function,
              "series": over_time}  # fmt: skip
    (out / "report.md").write_text(render.markdown(report))
    (out / "report.json").write_text(render.as_json(report))
    lap("markdown and JSON")
    chart.draw(over_time, [f"{f['function']} {f['version']}" for f in per_function], out / "report.png", "bench")
    lap("PNG (matplotlib)")
    phases["total"] = round(time.perf_counter() - start, 3)
    invocations = sum(f["invocations"] for f in per_function)
    phases["invocations counted"] = invocations
    return phases


def timed_command(folder: Path, out: Path) -> float:
    """The report command as a user runs it: a new process, imports included."""
    command = [sys.executable, "-m", "telemetry_tools", "report", "--from", str(folder), "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO)
    return round(time.perf_counter() - start, 3)


def timed_fetch(folder: Path, work: Path) -> dict[str, float]:
    from tests.support.s3 import start_s3_server

    server = start_s3_server()
    try:
        bucket, client = server.new_bucket(), server.client()
        for path in local_files(folder):
            client.put_object(Bucket=bucket, Key=path.relative_to(folder).as_posix(), Body=path.read_bytes())
        start = time.perf_counter()
        fetched = fetch(client, bucket, "telemetry/", work / "fetched", lambda *_: None)
        return {"fetch from local S3 (s)": round(time.perf_counter() - start, 3), "objects fetched": fetched.downloaded}
    finally:
        server.stop()


def main() -> int:
    args = parse_args()
    shape = synthetic.Shape(functions=args.functions, invocations=args.invocations // args.functions,
                            per_environment=250, per_object=50, log_lines=2)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="report-bench-") as temporary:
        work = Path(temporary)
        objects = synthetic.write(work / "objects", shape)
        files = local_files(work / "objects")
        size = sum(f.stat().st_size for f in files)
        runs = []
        for number in range(args.repeats):
            (work / f"out{number}").mkdir()
            runs.append(timed_report(files, work / f"out{number}"))
            runs[-1]["command, new process"] = timed_command(work / "objects", work / f"command{number}")
            print(f"run {number + 1}/{args.repeats}: {runs[-1]['total']:.2f} s in process, "
                  f"{runs[-1]['command, new process']:.2f} s as a command", flush=True)  # fmt: skip
        fetch_figures = timed_fetch(work / "objects", work) if args.s3 else {}
    phases = [name for name in runs[0] if name != "invocations counted"]
    median = {name: round(statistics.median(run[name] for run in runs), 3) for name in phases}
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {platform.python_version()}, {__import__('os').cpu_count()} cores",
        "data": {"invocations": shape.invocations * shape.functions, "functions": shape.functions, "objects": objects,
                 "events_per_invocation": 4 + shape.log_lines, "compressed_mb": round(size / 1e6, 2)},
        "median_s": median, "runs": runs, **({"s3": fetch_figures} if fetch_figures else {}),
        "target_s": TARGET_S, "met": median["command, new process"] <= TARGET_S,
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report_bench.json").write_text(json.dumps(result, indent=1) + "\n")
    table = markdown(result)
    (args.out / "report_bench.md").write_text(table)
    print(table)
    return 0 if result["met"] else 1


def markdown(result: dict[str, Any]) -> str:
    data = result["data"]
    lines = [
        f"# Report benchmark: {data['invocations']:,} invocations, {data['functions']} functions, "
        f"{data['objects']} objects ({data['compressed_mb']} MB gzip)",
        "",
        f"- machine: {result['machine']}; median of {len(result['runs'])} runs",
        "",
        "| phase | seconds |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value:.3f} |" for name, value in result["median_s"].items()]
    lines += [f"| {name} | {value} |" for name, value in result.get("s3", {}).items()]
    verdict = "met" if result["met"] else "MISSED"
    taken = result["median_s"]["command, new process"]
    lines += ["", f"Target: the report command ≤ {result['target_s']:.0f} s: {verdict} ({taken:.2f} s)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
