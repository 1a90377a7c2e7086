"""Real objects for the tools' tests: the extension (source flavour) under the emulator, writing to moto S3.

One session covers what the report must tell apart: successes with plain-text log lines (string records),
a function error, a timeout and an out-of-memory kill (each resets the environment, so the next invoke
re-initialises with `phase: "invoke"` and a new extension instance writes), then a spindown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.measurements import InitRecord, InvokeRecord
from lambda_emulator.state.runtimes import SimulatedRuntime
from tests.support.layers import SOURCE
from tests.support.s3 import S3Server, free_port

FUNCTION = "recorded-function"
MEMORY_MB = 512
TIMEOUT_S = 6.0
"""The hang's timeout, with room for the OOM kill: faulting in 512 MB at 512/1769 of a core takes 1.1-1.2 s alone,
and took over 3 s twice in full test runs (the invoke then timed out instead of being killed)."""
PAYLOADS = (
    *[{"log_lines": 2, "sleep_ms": 10}] * 3,
    {"error": "Function.Boom"},
    {"hang": True},
    *[{"log_lines": 1}] * 2,
    {"allocate_mb": 700},
    {"sleep_ms": 5},
)


@dataclass(frozen=True)
class Recording:
    """What the emulator measured, and where the objects the extension wrote were copied to."""

    bucket: str
    prefix: str
    folder: Path
    inits: list[InitRecord]
    invokes: list[InvokeRecord]


async def record_session(s3: S3Server, bucket: str, tmp_path: Path, prefix: str = "telemetry") -> Recording:
    # a port of its own: other suites on this machine run extensions on the default port at the same time
    env = {
        **SOURCE.env,
        **s3.extension_env(bucket, prefix=prefix, flush_interval_ms="0", listener_port=str(free_port())),
    }
    config = EmulatorConfig(
        runtime=SimulatedRuntime(),
        layer=SOURCE.layer(tmp_path),
        memory_mb=MEMORY_MB,
        timeout_s=TIMEOUT_S,
        env=env,
        function_name=FUNCTION,
    )
    async with Emulator(config) as emulator:
        await emulator.start()
        invokes = [await emulator.invoke(orjson.dumps(payload)) for payload in PAYLOADS]
        await emulator.shutdown()
        inits = list(emulator.inits)
    folder = tmp_path / "objects"
    for key, body in s3.objects(bucket).items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return Recording(bucket, prefix, folder, inits, invokes)
