"""The main job on embedded defaults (scripts/run.sh): the extension, the emulator, a real S3 server.

Starts moto (SigV4 on) on loopback, assembles the interpreted layer from the source, runs the HeaderCounter
handler through awslambdaric for N invokes with a freeze between them, spins the environment down, then reads
back what the extension wrote: objects, events, one `platform.report` per invoke, the extension's counters.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lambda_emulator.cli import progress_line, run_session, summary_table  # noqa: E402
from lambda_emulator.environment import EmulatorConfig  # noqa: E402
from lambda_emulator.runtimes import AwsLambdaRic  # noqa: E402
from tests.support.layers import SOURCE  # noqa: E402
from tests.support.s3 import decode_object, start_s3_server  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invocations", type=int, default=20)
    parser.add_argument("--memory", type=int, default=512, help="MB (CPU quota and memory cap follow it)")
    parser.add_argument("--sleep-ms", type=int, default=100, help="how long the handler sleeps")
    parser.add_argument("--json", type=Path, default=REPO / "dist" / "demo" / "records.json")
    return parser.parse_args()


async def main() -> int:
    args = parse_args()
    s3 = start_s3_server()
    try:
        bucket = s3.new_bucket()
        env = {
            **SOURCE.env,
            **s3.credentials_env(),
            "TELEMETRY_EXT_BUCKET": bucket,
            "TELEMETRY_EXT_S3_ENDPOINT_URL": s3.endpoint,
            "SLEEP_MS": str(args.sleep_ms),
        }
        with tempfile.TemporaryDirectory() as tmp:
            config = EmulatorConfig(
                runtime=AwsLambdaRic(REPO / "tests" / "handlers" / "header_counter.py"),
                layer=SOURCE.layer(Path(tmp)),
                memory_mb=args.memory,
                timeout_s=max(3.0, args.sleep_ms / 1000 + 2),
                env=env,
                function_name="header-counter",
            )
            print(f"demo: {args.invocations} invokes at {args.memory} MB, telemetry-ext (source) -> s3://{bucket}")
            result = await run_session(config, args.invocations, b'{"headers": {"a": "1", "b": "2"}}', progress_line)
        print(summary_table(result))
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
        return report_s3(s3.objects(bucket), bucket, args.invocations, result.extension_output)
    finally:
        s3.stop()


def report_s3(objects: dict[str, bytes], bucket: str, invocations: int, output: dict[str, list[str]]) -> int:
    events = [event for body in objects.values() for event in decode_object(body)[1]]
    types = Counter(event["type"] for event in events)
    reports = types.get("platform.report", 0)
    print(f"\nin s3://{bucket}: {len(objects)} objects, {len(events)} events")
    for key in sorted(objects)[:3]:
        print(f"  {key}")
    for kind, count in sorted(types.items()):
        print(f"  {kind:34} {count}")
    for lines in output.values():
        print("".join(line for line in lines if "telemetry-ext shutdown" in line).rstrip())
    verdict = "every" if reports == invocations else "NOT every"
    print(f"{verdict} invoke's platform.report is in S3 ({reports} of {invocations})")
    return 0 if reports == invocations else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
