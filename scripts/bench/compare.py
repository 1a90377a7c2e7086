"""The size/latency comparison: see scripts/compare.sh and README.md ("Numbers")."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).parent))

from chart import draw  # noqa: E402
from report import markdown, summarise  # noqa: E402
from run import run_one, variants  # noqa: E402

from lambda_emulator.progress import progress as show_progress  # noqa: E402
from tests.support.s3 import start_s3_server  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", default="x86_64", choices=["x86_64"], help="the emulator runs host binaries")
    parser.add_argument("--memory", default="128", help="comma-separated memory sizes in MB (default 128)")
    parser.add_argument("--invocations", type=int, default=40, help="invokes per cold start (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="cold starts per variant (default 3)")
    parser.add_argument("--sleep-ms", type=int, default=500, help="the handler's sleep (default 500, as the seed)")
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "compare")
    return parser.parse_args(argv)


def ensure_layers(arch: str) -> dict[str, dict[str, Any]]:
    builds = {}
    for flavour in ("interpreted", "native"):
        if subprocess.run([str(REPO / "scripts" / "build.sh"), "--arch", arch, "--flavor", flavour]).returncode:
            raise SystemExit(f"compare: error: the {flavour} layer did not build (the build said why, above)")
        builds[flavour] = json.loads((REPO / "dist" / f"telemetry-ext-{flavour}-{arch}.json").read_text())
    return builds


def context(args: argparse.Namespace) -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {cpu}",
        "commit": commit.stdout.strip() or "unknown",
        "python": platform.python_version(),
        "workload": f"awslambdaric HeaderCounter, sleep {args.sleep_ms} ms, {args.invocations} invokes per cold start, "
        f"{args.rounds} cold starts per variant, interleaved none/interpreted/native",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


async def measure(args: argparse.Namespace, memories: list[int]) -> list[dict[str, Any]]:
    s3 = start_s3_server()
    sessions = []
    try:
        todo = [(m, r, v) for m in memories for r in range(args.rounds) for v in variants(REPO / "dist", args.arch)]
        for number, (memory, round_number, variant) in enumerate(todo, 1):
            label = f"[{number}/{len(todo)}] {memory} MB round {round_number + 1} {variant.name}"

            def progress(done: int, total: int, label: str = label) -> None:
                show_progress(sys.stdout, f"  {label}: invoke {done}/{total}", final=done == total)

            sessions.append(await run_one(variant, s3, memory, args.invocations, args.sleep_ms, progress))
    finally:
        s3.stop()
    return sessions


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    memories = [int(m) for m in args.memory.split(",")]
    builds = ensure_layers(args.arch)
    print("compare: measuring (progress per session)", flush=True)
    sessions = asyncio.run(measure(args, memories))
    figures = {m: summarise(sessions, builds, m) for m in memories}
    info = context(args)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = {"context": info, "builds": builds, "figures": figures, "sessions": sessions}
    (args.out / "compare.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    table = markdown(figures, info)
    (args.out / "compare.md").write_text(table)
    draw(figures[memories[0]], memories[0], args.out / "compare.png")
    print(table)
    print(f"written: {args.out / 'compare.json'}, compare.md, compare.png")
    complete = all(
        f[v]["reports_in_s3"] == f[v]["invocations"] for f in figures.values() for v in ("interpreted", "native")
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
