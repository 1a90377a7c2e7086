"""Start-up of two native layers side by side, before and after a change to how the layer is built.

    .venv/bin/python build/startup_before_after.py BEFORE.zip AFTER.zip [--rounds 30] [--out dist/bench]

The measurements are scripts/bench/startup.py's, on each layer's launcher as Lambda runs it, on a full core, the
two layers interleaved round by round: CPU exec -> exit on a refused registration (every process of the
launcher's chain), CPU exec -> the first /next against a fake Lambda API with the peak RSS and anonymous memory
then, and the instructions of the refused run (callgrind, when valgrind is installed). Writes
startup-before-after.json (every sample) and .md (medians, quartiles, after - before).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts" / "bench"))
sys.path.insert(0, str(REPO))

import startup  # type: ignore[import-not-found]  # noqa: E402  (scripts/bench/startup.py)

from lambda_emulator.sandbox.layers import unpack_layer  # noqa: E402

FIGURES = (
    ("CPU exec → exit, refused registration (ms)", "refused", "cpu_ms"),
    ("CPU exec → first /next, init (ms)", "first_next", "cpu_ms"),
    ("peak RSS at the first /next (VmHWM, MB)", "first_next", "peak_rss_mb"),
    ("anonymous memory at the first /next (RssAnon, MB)", "first_next", "anon_mb"),
)


def measure(launchers: dict[str, Path], rounds: int) -> dict[str, dict[str, list[Any]]]:
    samples: dict[str, dict[str, list[Any]]] = {name: {"refused": [], "first_next": []} for name in launchers}
    for number in range(rounds):
        for name, launcher in launchers.items():
            samples[name]["refused"].append(startup.refused(launcher, "native"))
            result = asyncio.run(startup.first_next(launcher, "native"))
            samples[name]["first_next"].append({k: result[k] for k in ("cpu_ms", "peak_rss_mb", "anon_mb")})
        print(f"  round {number + 1}/{rounds}: " + ", ".join(
            f"{n} {samples[n]['first_next'][-1]['cpu_ms']:.1f} ms" for n in launchers), flush=True)  # fmt: skip
    for name, launcher in launchers.items():
        samples[name]["instructions"] = [startup.instructions(launcher, "native")]
    return samples


def summary(samples: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, runs in samples.items():
        figures: dict[str, Any] = {}
        for _, kind, key in FIGURES:
            values = [run[key] for run in runs[kind]]
            low, _, high = statistics.quantiles(values, n=4)
            figures[f"{kind}.{key}"] = {
                "median": round(statistics.median(values), 2),
                "quartiles": [round(low, 2), round(high, 2)],
            }
        count = runs["instructions"][0]
        figures["instructions_m"] = None if count is None else round(count / 1e6, 1)
        out[name] = figures
    return out


def markdown(figures: dict[str, dict[str, Any]], context: dict[str, str]) -> str:
    before, after = figures["before"], figures["after"]
    lines = ["# Start-up of the native layer, before and after", ""] + [f"- {k}: {v}" for k, v in context.items()]
    lines += ["", "| full core, medians (p25-p75) | before | after | after - before |", "|---|---|---|---|"]
    for label, kind, key in FIGURES:
        b, a = before[f"{kind}.{key}"], after[f"{kind}.{key}"]
        cells = [f"{x['median']:g} ({x['quartiles'][0]:g}-{x['quartiles'][1]:g})" for x in (b, a)]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {a['median'] - b['median']:+.2f} |")
    if before["instructions_m"] is not None and after["instructions_m"] is not None:
        change = after["instructions_m"] - before["instructions_m"]
        lines.append(f"| instructions exec → exit, refused (millions, callgrind) | {before['instructions_m']:g} | "
                     f"{after['instructions_m']:g} | {change:+.1f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path, help="the native layer zip before the change")
    parser.add_argument("after", type=Path, help="the native layer zip after it")
    parser.add_argument("--rounds", type=int, default=30, help="interleaved runs of each measurement (default 30)")
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "bench")
    args = parser.parse_args()
    for path in (args.before, args.after):
        if not path.is_file():
            parser.error(f"{path}: no such zip")
    with tempfile.TemporaryDirectory(prefix="startup-before-after-") as scratch:
        launchers = {}
        for name, zip_path in (("before", args.before), ("after", args.after)):
            unpack_layer(zip_path, Path(scratch) / name)
            launchers[name] = Path(scratch) / name / startup.LAUNCHER
        samples = measure(launchers, args.rounds)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    context = {"commit": commit.stdout.strip(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "before": str(args.before), "after": str(args.after), "rounds": str(args.rounds)}  # fmt: skip
    figures = summary(samples)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = {"context": context, "summary": figures, "samples": samples}
    (args.out / "startup-before-after.json").write_text(json.dumps(raw, indent=1) + "\n")
    text = markdown(figures, context)
    (args.out / "startup-before-after.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
