"""The whole extension process under the emulator, writing to a real S3 server (moto, SigV4 on)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import orjson
import pytest

from lambda_emulator.environment import Emulator, EmulatorConfig
from lambda_emulator.errors import InitFailed
from lambda_emulator.runtimes import SimulatedRuntime
from tests.support.exactly_once import assert_every_event_once
from tests.support.layers import E2E_FLAVOURS, FLAVOURS, Flavour
from tests.support.s3 import S3Server, decode_object
from tests.support.summary import parse_summary

pytestmark = pytest.mark.integration


def extension_env(s3: S3Server, bucket: str, flavour: Flavour, **settings: str) -> dict[str, str]:
    return {**flavour.env, **s3.extension_env(bucket, **settings)}


def stored(s3: S3Server, bucket: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(metadata records in sequence order, every stored event)."""
    batches = sorted((decode_object(body) for body in s3.objects(bucket).values()), key=lambda b: b[0]["sequence"])
    return [meta for meta, _ in batches], [event for _, events in batches for event in events]


@pytest.mark.parametrize("flavour", E2E_FLAVOURS, ids=lambda f: f.name)
async def test_every_event_reaches_s3_exactly_once(
    s3_server: S3Server, bucket: str, tmp_path: Path, flavour: Flavour
) -> None:
    # GIVEN the extension layer, flushing on every invoke, in an environment with a simulated function
    env = extension_env(s3_server, bucket, flavour, flush_interval_ms="0")
    config = EmulatorConfig(runtime=SimulatedRuntime(), layer=flavour.layer(tmp_path), memory_mb=1769, env=env)
    async with Emulator(config) as emulator:
        # WHEN it runs through init, five invokes and a spindown
        await emulator.start()
        invokes = [await emulator.invoke(orjson.dumps({"log_lines": 3, "sleep_ms": 20})) for _ in range(5)]
        shutdown = await emulator.shutdown()
        emitted = list(emulator.telemetry.emitted)
        summary = parse_summary(line for p in emulator.extensions for line in p.output)
    # THEN it exited by itself, in time
    assert [i.status for i in invokes] == ["success"] * 5
    (exit_record,) = shutdown.extensions.values()
    assert exit_record.exited_in_time and exit_record.exit_code == 0
    metadata, events = stored(s3_server, bucket)
    # and S3 holds every event as often as Lambda emitted it, the last invoke's platform.report included
    assert_every_event_once(emitted, events)
    reports = [e["record"]["requestId"] for e in events if e["type"] == "platform.report"]
    assert sorted(reports) == sorted(i.request_id for i in invokes)
    # and the metadata counts are right
    assert [m["sequence"] for m in metadata] == list(range(len(metadata)))
    assert sum(m["events"] for m in metadata) == len(events)
    final = metadata[-1]["counters"]
    assert final["received"] == len(events)
    assert final["written"] <= len(events) - metadata[-1]["events"]  # confirmed writes when the batch was cut
    assert final["dropped"] == final["lambda_dropped"] == final["parse_failures"] == 0
    # and the extension's one summary line agrees with what S3 holds
    assert summary["received"] == summary["written"] == len(events)
    assert summary["objects"] == len(metadata) and summary["unwritten"] == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TELEMETRY_EXT_BUCKET", ""), ("TELEMETRY_EXT_BUFFER_TIMEOUT_MS", "5"), ("TELEMETRY_EXT_TYPES", "metrics")],
)
async def test_a_bad_setting_fails_init_with_a_message_naming_it(
    s3_server: S3Server, bucket: str, tmp_path: Path, variable: str, value: str
) -> None:
    flavour = FLAVOURS[0]
    env = {**extension_env(s3_server, bucket, flavour), variable: value}
    config = EmulatorConfig(runtime=SimulatedRuntime(), layer=flavour.layer(tmp_path), memory_mb=1769, env=env)
    async with Emulator(config) as emulator:
        with pytest.raises(InitFailed) as failed:
            await emulator.start()
        (agent,) = emulator.registry.agents.values()
    assert failed.value.error_type == "Extension.InitError"
    assert agent.error_type == "Extension.ConfigInvalid"
    assert variable in orjson.loads(agent.error_body)["errorMessage"]


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_sigterm_drains_and_exits_cleanly(
    s3_server: S3Server, bucket: str, tmp_path: Path, flavour: Flavour
) -> None:
    # GIVEN an extension that has buffered two invokes' events
    config = EmulatorConfig(
        runtime=SimulatedRuntime(), layer=flavour.layer(tmp_path), memory_mb=1769,
        env=extension_env(s3_server, bucket, flavour),
    )  # fmt: skip
    async with Emulator(config) as emulator:
        await emulator.start()
        for _ in range(2):
            await emulator.invoke(b'{"log_lines": 2}')
        await emulator.thaw()
        # WHEN it gets SIGTERM instead of a SHUTDOWN event
        (process,) = emulator.extensions
        process.signal(signal.SIGTERM)
        code = await process.exited()
        summary = parse_summary(process.output)
        line = next(text for text in process.output if "telemetry-ext shutdown" in text)
    # THEN it drains what it had and exits 0 by itself
    assert code == 0 and "reason=sigterm" in line
    _, events = stored(s3_server, bucket)
    assert summary["written"] == summary["received"] == len(events) > 0
