"""The command line: run a function (and a layer's extensions) for N invokes, print and save what was measured."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from lambda_emulator.environment import Emulator, EmulatorConfig
from lambda_emulator.measurements import InitRecord, InvokeRecord, ShutdownRecord, to_json
from lambda_emulator.progress import progress
from lambda_emulator.runtimes import AwsLambdaRic, RuntimeSpec, SimulatedRuntime


@dataclass
class SessionResult:
    init: InitRecord
    invokes: list[InvokeRecord]
    shutdown: ShutdownRecord
    extension_output: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "init": to_json(self.init),
            "invokes": [to_json(i) for i in self.invokes],
            "shutdown": to_json(self.shutdown),
        }


Progress = Callable[[int, int], None]


async def run_session(config: EmulatorConfig, invocations: int, payload: bytes, progress: Progress) -> SessionResult:
    """Cold start, `invocations` invokes with a freeze between them, then a spindown."""
    async with Emulator(config) as emulator:
        init = await emulator.start()
        invokes = []
        for number in range(invocations):
            invokes.append(await emulator.invoke(payload))
            progress(number + 1, invocations)
        shutdown = await emulator.shutdown()
        output = {p.name: list(p.output) for p in emulator.extensions}
    return SessionResult(init, invokes, shutdown, output)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lambda_emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a function for N invokes in a local execution environment")
    run.add_argument("--layer", type=Path, help="layer zip or directory (none: the no-extension baseline)")
    run.add_argument("--handler", help="FILE:FUNCTION run by awslambdaric (default: the simulated runtime)")
    run.add_argument("--memory", type=int, default=128, help="memory size in MB (default 128)")
    run.add_argument("--timeout", type=float, default=3.0, help="function timeout in seconds (default 3)")
    run.add_argument("--invocations", type=int, default=10, help="invokes after the cold start (default 10)")
    run.add_argument("--payload", default="{}", help="invocation payload, JSON (default {})")
    run.add_argument("--env", action="append", default=[], metavar="K=V", help="function environment variable")
    run.add_argument("--json", type=Path, help="write every record here as JSON")
    run.add_argument("--no-freeze", action="store_true", help="do not freeze between invokes")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    runtime: RuntimeSpec = AwsLambdaRic.parse(args.handler) if args.handler else SimulatedRuntime()
    env = dict(item.split("=", 1) for item in args.env)
    return EmulatorConfig(
        runtime=runtime,
        layer=args.layer,
        memory_mb=args.memory,
        timeout_s=args.timeout,
        env=env,
        freeze=not args.no_freeze,
    )


def progress_line(done: int, total: int) -> None:
    progress(sys.stderr, f"  invokes {done}/{total}", final=done == total)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def summary_table(result: SessionResult) -> str:
    invokes = result.invokes
    durations = [i.duration_ms for i in invokes]
    post = [i.post_runtime_extensions_ms for i in invokes]
    rows = [
        ("init duration (ms)", f"{result.init.duration_ms:.1f}"),
        ("invokes (ok / all)", f"{sum(i.status == 'success' for i in invokes)} / {len(invokes)}"),
        ("duration avg / p99 / max (ms)", _three(durations)),
        ("PostRuntimeExtensionsDuration avg / p99 / max (ms)", _three(post)),
        ("max memory used (MB)", str(max((i.max_memory_used_mb for i in invokes), default=0))),
        ("shutdown duration (ms)", f"{result.shutdown.duration_ms:.1f}"),
    ]
    if invokes:
        for name, figures in invokes[-1].processes.items():
            label = f"{name}: CPU ms / peak RSS MB (after last invoke)"
            rows.append((label, f"{figures.cpu_ms:.1f} / {figures.peak_rss_mb}"))
    for name, exit_record in result.shutdown.extensions.items():
        state = "in time" if exit_record.exited_in_time else "KILLED at the deadline"
        rows.append((f"{name}: exit", f"code {exit_record.exit_code}, {state}"))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label.ljust(width)}  {value}" for label, value in rows)


def _three(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.fmean(values):.2f} / {percentile(values, 0.99):.2f} / {max(values):.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    config = config_from(args)
    layer = args.layer or "none (baseline)"
    print(f"lambda_emulator: {args.invocations} invokes at {args.memory} MB, layer {layer}", file=sys.stderr)
    result = asyncio.run(run_session(config, args.invocations, args.payload.encode(), progress_line))
    print(summary_table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
        print(f"records written to {args.json}")
    return 0 if all(i.status == "success" for i in result.invokes) else 1
