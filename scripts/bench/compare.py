"""The size/latency comparison: see scripts/compare.sh and README.md ("Numbers")."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).parent))

import startup  # noqa: E402
from chart import draw  # noqa: E402
from report import limits_summary, markdown, no_limits_line, summarise  # noqa: E402
from run import POLICIES, WORKLOADS, run_one, variants  # noqa: E402

from lambda_emulator.init_cpu import InitCpuPolicy  # noqa: E402
from telemetry_tools.report.build import build as build_report  # noqa: E402
from telemetry_tools.report.fetch import fetch_all_buckets, local_files  # noqa: E402
from tests.support.s3 import start_s3_server  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", default="x86_64", choices=["x86_64"], help="the emulator runs host binaries")
    parser.add_argument("--memory", default="128", help="comma-separated memory sizes in MB (default 128)")
    parser.add_argument("--invocations", type=int, default=40, help="invokes per cold start (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="cold starts per variant (default 3)")
    parser.add_argument("--sleep-ms", type=int, default=500, help="the handler's sleep (default 500, as the seed)")
    parser.add_argument(
        "--workloads",
        default="sleep,cpu",
        help="sleep (the seed's HeaderCounter), cpu (SHA-256, 4-18 ms of CPU a call on a full core); default both",
    )
    parser.add_argument(
        "--startup-rounds",
        type=int,
        default=10,
        help="start-up runs per layer on a full core, without the emulator (default 10; 0: none)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "compare")
    return parser.parse_args(argv)


def ensure_layers(arch: str) -> dict[str, dict[str, Any]]:
    builds = {}
    for flavour in ("interpreted", "native"):
        if subprocess.run([str(REPO / "scripts" / "build.sh"), "--arch", arch, "--flavor", flavour]).returncode:
            raise SystemExit(f"compare: error: the {flavour} layer did not build (the build said why, above)")
        builds[flavour] = json.loads((REPO / "dist" / f"telemetry-ext-{flavour}-{arch}.json").read_text())
    return builds


def context(args: argparse.Namespace, sessions: list[dict[str, Any]]) -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {cpu}",
        "commit": commit.stdout.strip() or "unknown",
        "python": platform.python_version(),
        "workload": f"awslambdaric; per workload ({workload_names(args)}) and variant {args.rounds} cold starts with "
        f"a boosted init, each followed by {args.invocations} invokes, and {args.rounds} init-only cold starts with a "
        "throttled init; interleaved none/interpreted/native",
        "limits": limits_summary(sessions),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def workload_names(args: argparse.Namespace) -> str:
    names = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown or not names:
        raise SystemExit(f"compare: error: --workloads: unknown {', '.join(unknown) or 'none given'}; "
                         f"choose from {', '.join(WORKLOADS)}")  # fmt: skip
    return ", ".join(f"{name}: {WORKLOADS[name].description}" for name in names)


def sessions_to_run(args: argparse.Namespace, memories: list[int]) -> list[tuple[int, InitCpuPolicy, str, Any]]:
    """Per memory size and round: a boosted session per workload and variant, then the init-only throttled ones
    (the init does not depend on the workload: the seed's handler), variants interleaved innermost."""
    names = [name.strip() for name in args.workloads.split(",") if name.strip()]
    plan = []
    for memory in memories:
        for _ in range(args.rounds):
            for policy in POLICIES:
                for workload in names if policy is InitCpuPolicy.BOOSTED else names[:1]:
                    for variant in variants(REPO / "dist", args.arch):
                        plan.append((memory, policy, workload, variant))
    return plan


def progress_line(label: str) -> Callable[[int, int], None]:
    """On a terminal, one line rewritten per invoke; in a log file, nothing until the session's own line."""

    def progress(done: int, total: int) -> None:
        if sys.stdout.isatty():
            print(f"\r  {label}: invoke {done}/{total}", end="\r" if done < total else "\r\033[K", flush=True)

    return progress


async def measure(args: argparse.Namespace, memories: list[int]) -> list[dict[str, Any]]:
    s3 = start_s3_server()
    sessions = []
    try:
        todo = sessions_to_run(args, memories)
        for number, (memory, policy, workload, variant) in enumerate(todo, 1):
            label = f"[{number}/{len(todo)}] {memory} MB {workload} {variant.name}, {policy} init"
            invocations = args.invocations if policy is InitCpuPolicy.BOOSTED else 0
            session = await run_one(
                variant, s3, memory, invocations, args.sleep_ms, progress_line(label), policy, WORKLOADS[workload]
            )
            done = f"{invocations} invokes" if invocations else "init only"
            print(
                f"  {label}: cold start {session['init']['duration_ms']:.0f} ms, {done}, {session['wall_s']} s",
                flush=True,
            )
            sessions.append(session)
        fetch_all_buckets(s3.client(), args.out / "s3", lambda *_: None)  # what the extension wrote, for the report
    finally:
        s3.stop()
    return sessions


def measure_startup(args: argparse.Namespace) -> dict[str, Any] | None:
    """Both layers' start-up on a full core, interleaved (scripts/bench/startup.py): CPU to exit and to the first
    /next, instructions, and the import breakdown."""
    if args.startup_rounds <= 0:
        return None
    print(f"compare: start-up, {args.startup_rounds} runs per layer", flush=True)
    with tempfile.TemporaryDirectory(prefix="compare-startup-") as scratch:
        layers = startup.unpacked_layers(Path(scratch), args.arch)
        samples = startup.measure(layers, args.startup_rounds, max(1, args.startup_rounds // 3), lambda _: None)
    return {"summary": startup.summarise(samples), "samples": samples}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    memories = [int(m) for m in args.memory.split(",")]
    builds = ensure_layers(args.arch)
    start_up = measure_startup(args)
    print("compare: measuring (progress per session)", flush=True)
    sessions = asyncio.run(measure(args, memories))
    figures = {m: summarise(sessions, builds, m) for m in memories}
    ran_cpu = any(s.get("workload") == "cpu" for s in sessions)
    figures_cpu = {m: summarise(sessions, builds, m, "cpu") for m in memories} if ran_cpu else None
    info = context(args, sessions)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = {"context": info, "builds": builds, "figures": figures, "figures_cpu": figures_cpu, "sessions": sessions,
           "startup": start_up}  # fmt: skip
    (args.out / "compare.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    startup_table = startup.markdown(start_up["summary"]) if start_up else None
    table = markdown(figures, info, startup_table, figures_cpu, start_up["summary"] if start_up else None)
    (args.out / "compare.md").write_text(table)
    draw(figures[memories[0]], memories[0], args.out / "compare.png", (figures_cpu or {}).get(memories[0]))
    warning = no_limits_line(sessions)
    if warning:
        print(warning)
    print(table)
    print(f"written: {args.out / 'compare.json'}, compare.md, compare.png")
    report = build_report(local_files(args.out / "s3"), "every session's S3 bucket (both layers)", args.out / "report")
    print(f"report built from what the extension wrote to S3: {report.markdown}, {report.png}")
    complete = all(
        f[v]["reports_in_s3"] == f[v]["invocations"]
        for by_memory in (figures, figures_cpu or {})
        for f in by_memory.values()
        for v in ("interpreted", "native")
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
