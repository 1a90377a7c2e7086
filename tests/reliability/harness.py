"""Run the real extension (a flavour's layer) in the emulator, writing to moto through the fault proxy, and
collect what a reliability case needs: the records, every stored event, the summary line, the proxy's counts.
Each case appends its figures to dist/reliability/results.jsonl (scripts/reliability.sh summarises them).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from lambda_emulator.environment import Emulator, EmulatorConfig
from lambda_emulator.measurements import InvokeRecord, ShutdownRecord
from lambda_emulator.runtimes import SimulatedRuntime
from tests.support.exactly_once import Tally
from tests.support.fault_proxy import FaultProxy
from tests.support.layers import REPO, Flavour
from tests.support.s3 import S3Server, decode_object
from tests.support.summary import parse_summary

RESULTS = REPO / "dist" / "reliability" / "results.jsonl"
Hook = Callable[[Emulator, int], Awaitable[None]]


@dataclass
class Outcome:
    invokes: list[InvokeRecord]
    shutdown: ShutdownRecord | None
    emitted: list[dict[str, Any]]
    stored: list[dict[str, Any]]
    metadata: list[dict[str, Any]]
    summary: dict[str, int]
    output: list[str]
    puts: int
    objects: dict[str, bytes] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        """Copies stored beyond what Lambda emitted (tests/support/exactly_once.py: counts, not sets)."""
        return Tally(self.emitted, self.stored).duplicates

    @property
    def max_post_runtime_ms(self) -> float:
        return max((i.post_runtime_extensions_ms for i in self.invokes), default=0.0)

    @property
    def peak_rss_mb(self) -> float:
        exits = self.shutdown.extensions.values() if self.shutdown else []
        return max((e.peak_rss_mb for e in exits), default=0.0)

    def missing(self) -> list[dict[str, Any]]:
        """Every copy Lambda emitted (not the extension's own lines) that is not in S3."""
        return Tally(self.emitted, self.stored).missing()


async def run_case(
    flavour: Flavour,
    tmp_path: Path,
    s3: S3Server,
    proxy: FaultProxy,
    bucket: str,
    payloads: list[bytes],
    settings: dict[str, str] | None = None,
    between: Hook | None = None,
    shutdown: bool = True,
    **config: Any,
) -> Outcome:
    env = {**flavour.env, **s3.extension_env(bucket, proxy.endpoint, **(settings or {}))}
    options: dict[str, Any] = {"memory_mb": 1769, "timeout_s": 5.0, **config}
    emulator_config = EmulatorConfig(runtime=SimulatedRuntime(), layer=flavour.layer(tmp_path), env=env, **options)
    invokes: list[InvokeRecord] = []
    record = None
    async with Emulator(emulator_config) as emulator:
        await emulator.start()
        for number, payload in enumerate(payloads):
            invokes.append(await emulator.invoke(payload))
            if between is not None:
                await between(emulator, number)
        if shutdown:
            record = await emulator.shutdown()
        emitted = list(emulator.telemetry.emitted)
        output = [line for p in emulator.extensions for line in p.output]
    objects = s3.objects(bucket)
    batches = sorted((decode_object(b) for b in objects.values()), key=lambda b: (b[0]["instanceId"], b[0]["sequence"]))
    return Outcome(
        invokes=invokes,
        shutdown=record,
        emitted=emitted,
        stored=[event for _, events in batches for event in events],
        metadata=[meta for meta, _ in batches],
        summary=parse_summary(output),
        output=output,
        puts=proxy.stats.requests.get("PUT", 0),
        objects=objects,
    )


def report(case: str, flavour: Flavour, outcome: Outcome, result: str = "pass", **figures: Any) -> None:
    """Append this case's figures to the results file."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "case": case,
        "flavour": flavour.name,
        "result": result,
        "retries": outcome.summary.get("retries"),
        "dropped": outcome.summary.get("dropped"),
        "lambda_dropped": outcome.summary.get("lambda_dropped"),
        "duplicates": outcome.duplicates,
        "max_rss_mb": round(outcome.peak_rss_mb, 1),
        "max_post_runtime_ms": round(outcome.max_post_runtime_ms, 2),
        "shutdown_ms": round(outcome.shutdown.duration_ms, 1) if outcome.shutdown else None,
        "puts": outcome.puts,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **figures,
    }
    with RESULTS.open("a") as results:
        results.write(orjson.dumps(line).decode() + "\n")
