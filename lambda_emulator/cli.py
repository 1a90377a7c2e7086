"""The command line: run a function (and a layer's extensions) for N invokes in one of Lambda's modes, print and
save what was measured."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

from lambda_emulator.config import ConfigError, EmulatorConfig
from lambda_emulator.environment import Emulator
from lambda_emulator.init_cpu import DEFAULT_BOOST_VCPUS, InitCpuPolicy
from lambda_emulator.measurements import InvokeRecord, SessionResult
from lambda_emulator.modes import MODES, ON_DEMAND_INIT_TYPES
from lambda_emulator.progress import progress
from lambda_emulator.runtimes import AwsLambdaRic, RuntimeSpec, SimulatedRuntime
from lambda_emulator.summary import percentile, summary_table

__all__ = ["SessionResult", "main", "percentile", "run_session"]


Progress = Callable[[int, int], None]


async def run_session(
    config: EmulatorConfig, invocations: int, payload: bytes, progress: Progress, restores: int = 1
) -> SessionResult:
    """Init, then the mode's invokes: one at a time with a freeze between them (on-demand); spread over
    `config.concurrency` callers (LMI); spread over `restores` restores of one snapshot (SnapStart). Then SHUTDOWN."""
    loop = asyncio.get_running_loop()
    async with Emulator(config) as emulator:
        init = await emulator.start()
        started = loop.time()
        invokes = await _invokes(emulator, invocations, payload, progress, restores)
        wall_s = loop.time() - started
        shutdown = await emulator.shutdown()
        output = {p.name: list(p.output) for p in emulator.extensions}
        requests = list(emulator.credentials.requests) if emulator.credentials else []
        return SessionResult(init, invokes, shutdown, output, config.mode, list(emulator.restores),
                             config.concurrency, emulator.peak_in_flight or 1, wall_s, requests)  # fmt: skip


async def _invokes(
    emulator: Emulator, invocations: int, payload: bytes, progress: Progress, restores: int
) -> list[InvokeRecord]:
    if emulator.rules.concurrent:
        return await emulator.invoke_concurrently([payload] * invocations, progress=lambda n: progress(n, invocations))
    records = []
    copies = max(1, restores) if emulator.rules.restores else 1
    for copy in range(copies):
        if emulator.rules.restores:
            await emulator.restore()
        share = invocations // copies + (1 if copy < invocations % copies else 0)
        for _ in range(share):
            records.append(await emulator.invoke(payload))
            progress(len(records), invocations)
    return records


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lambda_emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a function for N invokes in a local execution environment")
    run.add_argument("--layer", type=Path, help="layer zip or directory (none: the no-extension baseline)")
    run.add_argument("--handler", help="FILE:FUNCTION run by awslambdaric (default: the simulated runtime)")
    run.add_argument("--memory", type=int, default=128, help="memory size in MB (default 128)")
    run.add_argument("--timeout", type=float, default=3.0, help="function timeout in seconds (default 3)")
    run.add_argument("--invocations", type=int, default=10, help="invokes in all, after the cold start (default 10)")
    run.add_argument("--payload", default="{}", help="invocation payload, JSON (default {})")
    run.add_argument("--env", action="append", default=[], metavar="K=V", help="function environment variable")
    run.add_argument("--json", type=Path, help="write every record here as JSON")
    run.add_argument("--no-freeze", action="store_true", help="do not freeze between invokes")
    run.add_argument(
        "--init-cpu",
        choices=[policy.value for policy in InitCpuPolicy],
        default=InitCpuPolicy.AUTO.value,
        help="CPU during init: auto (boosted on-demand init; throttled provisioned-concurrency init and re-init "
        "after a reset), boosted or throttled for every init (default auto; README, Limits)",
    )
    run.add_argument(
        "--init-boost-vcpus",
        type=_positive_float,
        default=DEFAULT_BOOST_VCPUS,
        help="a boosted init's CPU in cores: 1 (Datadog, 2025; default) or 2 (van Donkersgoed, 2022)",
    )
    run.add_argument("--mode", choices=MODES, default="on-demand", help="how Lambda runs it (default on-demand)")
    run.add_argument("--init-type", choices=ON_DEMAND_INIT_TYPES, help="on-demand mode: the init type")
    run.add_argument("--concurrency", type=int, default=1, help="lmi: invocations at once (default 1)")
    run.add_argument("--restores", type=int, default=1, help="snapstart: restores of the snapshot (default 1)")
    run.add_argument("--restore-gap", type=float, default=1.0, help="snapstart: seconds frozen before a restore")
    run.add_argument("--credentials", choices=("env", "container"), help="env keys or the container endpoint")
    run.add_argument("--credentials-ttl", type=float, default=1800.0, help="container credentials lifetime (s)")
    return parser.parse_args(argv)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"wants a number of cores above 0, got {text!r}")
    return value


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    runtime: RuntimeSpec = AwsLambdaRic.parse(args.handler) if args.handler else SimulatedRuntime()
    bad = [item for item in args.env if "=" not in item]
    if bad:
        raise ConfigError(f"--env wants K=V, got {bad[0]!r}")
    if args.invocations < 0 or args.restores < 1:
        raise ConfigError("--invocations must not be negative and --restores must be at least 1")
    return EmulatorConfig(
        runtime=runtime,
        layer=args.layer,
        memory_mb=args.memory,
        timeout_s=args.timeout,
        env=dict(item.split("=", 1) for item in args.env),
        freeze=not args.no_freeze,
        init_cpu=InitCpuPolicy(args.init_cpu),
        init_boost_vcpus=args.init_boost_vcpus,
        mode=args.mode,
        init_type=args.init_type,
        concurrency=args.concurrency,
        credentials=args.credentials,
        credentials_ttl_s=args.credentials_ttl,
        restore_gap_s=args.restore_gap,
    )


def progress_line(done: int, total: int) -> None:
    progress(sys.stderr, f"  invokes {done}/{total}", final=done == total)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = config_from(args)
    except (ConfigError, ValueError) as error:
        print(f"lambda_emulator: {error}", file=sys.stderr)
        return 2
    layer = args.layer or "none (baseline)"
    heading = f"lambda_emulator: {args.mode}, {args.invocations} invokes at {args.memory} MB, layer {layer}"
    print(heading, file=sys.stderr)
    result = asyncio.run(run_session(config, args.invocations, args.payload.encode(), progress_line, args.restores))
    print(summary_table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
        print(f"records written to {args.json}")
    ok = all(i.status == "success" for i in result.invokes) and all(r.status == "success" for r in result.restores)
    return 0 if ok else 1
