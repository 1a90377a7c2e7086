"""The command line: run a function (and a layer's extensions) for N invokes in one of Lambda's modes, print and
save what was measured."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from lambda_emulator.cli.progress import progress
from lambda_emulator.cli.session import run_session
from lambda_emulator.cli.summary import failure_lines, percentile, summary_table
from lambda_emulator.sandbox.address import AddressUnavailable
from lambda_emulator.sandbox.cgroups.fs import CgroupError
from lambda_emulator.sandbox.layers import MAX_LAYERS, LayerError
from lambda_emulator.sandbox.limits import SandboxUnavailable
from lambda_emulator.sandbox.namespace import NamespaceUnavailable
from lambda_emulator.state.config import ConfigError, EmulatorConfig
from lambda_emulator.state.errors import EmulatorError
from lambda_emulator.state.init_cpu import DEFAULT_BOOST_VCPUS, InitCpuPolicy
from lambda_emulator.state.measurements import SessionResult
from lambda_emulator.state.modes import MODES, ON_DEMAND_INIT_TYPES
from lambda_emulator.state.runtimes import AwsLambdaRic, RuntimeSpec, SimulatedRuntime

__all__ = ["SessionResult", "main", "percentile", "run_session"]

SETUP_ERRORS = (ConfigError, LayerError, NamespaceUnavailable, SandboxUnavailable, AddressUnavailable, CgroupError)
"""What stops a session before it starts: one line and exit status 2."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lambda-emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a function for N invokes in a local execution environment")
    run.add_argument("--layer", type=Path, action="append", default=[],
                     help=f"layer zip or directory; up to {MAX_LAYERS}, merged into /opt in the order given "
                     "(none: the no-extension baseline)")  # fmt: skip
    run.add_argument("--handler", help="FILE:FUNCTION run by awslambdaric (default: the simulated runtime)")
    run.add_argument("--memory", type=int, default=128, help="memory size in MB (default 128, as Lambda's console)")
    run.add_argument(
        "--timeout", type=float, default=3.0, help="function timeout in seconds (default 3, as the console)"
    )
    run.add_argument("--region", default="us-east-1", help="AWS_REGION (default us-east-1, the console's default)")
    run.add_argument(
        "--function-name", default="test-function", help="AWS_LAMBDA_FUNCTION_NAME (default test-function)"
    )
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
    run.add_argument("--log-format", choices=("Text", "JSON"), default="Text",
                     help="the function's log format: JSON lines become JSON records (default Text)")  # fmt: skip
    run.add_argument("--no-namespace", action="store_true",
                     help="no private mount namespace: layers in a temporary folder, not /opt; sandbox.localdomain "
                     "unresolved; telemetry to 127.0.0.1 (what runs without root get)")  # fmt: skip
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
        layers=tuple(args.layer),
        memory_mb=args.memory,
        timeout_s=args.timeout,
        region=args.region,
        function_name=args.function_name,
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
        log_format=args.log_format,
        use_namespaces=False if args.no_namespace else None,
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
    layers = ", ".join(str(layer) for layer in args.layer) or "none (baseline)"
    heading = f"lambda_emulator: {args.mode}, {args.invocations} invokes at {args.memory} MB, layers {layers}"
    print(heading, file=sys.stderr)
    try:
        result = asyncio.run(run_session(config, args.invocations, args.payload.encode(), progress_line,
                                         args.restores))  # fmt: skip
    except SETUP_ERRORS as error:
        print(f"lambda_emulator: {error}", file=sys.stderr)
        return 2
    except EmulatorError as error:
        print(f"lambda_emulator: {error}", file=sys.stderr)
        return 1
    print(summary_table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
        print(f"records written to {args.json}")
    lines = failure_lines(result)
    for line in lines:
        print(f"lambda_emulator: {line}", file=sys.stderr)
    return 1 if lines else 0
