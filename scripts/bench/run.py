"""Run each workload three ways, interleaved: no extension, interpreted layer, native layer.

Workloads: the seed's (`sleep`: a HeaderCounter sleeping 500 ms) and one that computes (`cpu`: SHA-256 over
100-499 blocks of 64 KiB a call, tests/handlers/hasher.py), where every millisecond of CPU the extension spends
during an invoke is taken from the function's share (at 128 MB, 128/1769 of a core).

One "session" = cold start, N invokes with a freeze between them, SHUTDOWN. Its init runs with the CPU of an
on-demand init ("boosted", lambda_emulator/init_cpu.py). A second, init-only session per variant measures the
cold start with the function's own CPU quota ("throttled": provisioned-concurrency init, re-init after a reset):
init, then SHUTDOWN. Rounds repeat the variants in the same order (A B C A B C ...), so machine drift touches them
alike, and give several cold starts per variant. Every session writes to its own bucket on a real S3 server
(moto, SigV4), which is read back.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from lambda_emulator.cli import SessionResult, run_session  # noqa: E402
from lambda_emulator.environment import EmulatorConfig  # noqa: E402
from lambda_emulator.init_cpu import InitCpuPolicy  # noqa: E402
from lambda_emulator.runtimes import AwsLambdaRic  # noqa: E402
from tests.support.s3 import S3Server, decode_object  # noqa: E402
from tests.support.summary import parse_summary  # noqa: E402

PAYLOAD = b'{"headers": {"accept": "*/*", "host": "example.com", "user-agent": "bench"}}'


@dataclass(frozen=True)
class Workload:
    name: str
    handler: Path
    description: str


WORKLOADS = {
    "sleep": Workload("sleep", REPO / "tests" / "handlers" / "header_counter.py", "HeaderCounter, sleeping"),
    "cpu": Workload("cpu", REPO / "tests" / "handlers" / "hasher.py", "SHA-256 over 100-499 blocks of 64 KiB"),
}


@dataclass(frozen=True)
class Variant:
    name: str
    layer: Path | None
    env: dict[str, str]


def variants(dist: Path, arch: str) -> list[Variant]:
    return [
        Variant("none", None, {}),
        Variant(
            "interpreted", dist / f"telemetry-ext-interpreted-{arch}.zip", {"TELEMETRY_EXT_PYTHON": sys.executable}
        ),
        Variant("native", dist / f"telemetry-ext-native-{arch}.zip", {}),
    ]


POLICIES = (InitCpuPolicy.BOOSTED, InitCpuPolicy.THROTTLED)


async def run_one(
    variant: Variant,
    s3: S3Server,
    memory_mb: int,
    invocations: int,
    sleep_ms: int,
    progress: Any,
    init_cpu: InitCpuPolicy = InitCpuPolicy.BOOSTED,
    workload: Workload = WORKLOADS["sleep"],
) -> dict[str, Any]:
    bucket = s3.new_bucket()
    env = {**variant.env, **s3.extension_env(bucket), "SLEEP_MS": str(sleep_ms)}
    config = EmulatorConfig(
        runtime=AwsLambdaRic(workload.handler),
        layer=variant.layer,
        memory_mb=memory_mb,
        timeout_s=max(3.0, sleep_ms / 1000 + 3),
        env=env,
        function_name="header-counter",
        init_cpu=init_cpu,
    )
    started = time.monotonic()
    result = await run_session(config, invocations, PAYLOAD, progress)
    wall_s = round(time.monotonic() - started, 2)
    session = {"variant": variant.name, "workload": workload.name, "memory_mb": memory_mb, "init_cpu": init_cpu.value,
               "wall_s": wall_s}  # fmt: skip
    return {**session, **result.to_json(), **s3_figures(s3, bucket, result)}


def s3_figures(s3: S3Server, bucket: str, result: SessionResult) -> dict[str, Any]:
    objects = s3.objects(bucket)
    events = [event for body in objects.values() for event in decode_object(body)[1]]
    types = Counter(event["type"] for event in events)
    summary = parse_summary(line for lines in result.extension_output.values() for line in lines)
    return {
        "s3": {"objects": len(objects), "events": len(events), "reports": types.get("platform.report", 0)},
        "extension_summary": summary,
    }
