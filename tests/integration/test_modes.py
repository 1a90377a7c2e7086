"""The extension in every way Lambda runs functions: Lambda Managed Instances and SnapStart, under the emulator's
modes (lambda_emulator/README.md), both flavours, writing to a real S3 server through a logging front."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lambda_emulator.environment import Emulator, EmulatorConfig
from lambda_emulator.runtimes import AwsLambdaRic
from tests.support.exactly_once import assert_every_event_once
from tests.support.fault_proxy import FaultProxy
from tests.support.layers import FLAVOURS, REPO, Flavour
from tests.support.s3 import S3Server, decode_object
from tests.support.summary import parse_summary

pytestmark = pytest.mark.integration
HANDLER = REPO / "tests" / "handlers" / "header_counter.py"
PAYLOAD = b'{"headers": {"accept": "*/*"}, "sleep_ms": 20}'


def stored(s3: S3Server, bucket: str) -> dict[str, list[dict[str, Any]]]:
    """The events of every object, by key."""
    return {key: decode_object(body)[1] for key, body in s3.objects(bucket).items()}


def assert_stored_as_emitted(emitted: list[dict[str, Any]], by_key: dict[str, list[dict[str, Any]]]) -> None:
    assert_every_event_once(emitted, (e for events in by_key.values() for e in events), by_key)


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_managed_instances_400_concurrent_invocations_every_report_once_written_while_running(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    # GIVEN Lambda Managed Instances (SHUTDOWN-only registration, schema 2025-01-29, no freeze, no INVOKE) and a
    # flush interval of 1 s
    env = {**flavour.env, **s3_server.extension_env(bucket, fault_proxy.endpoint, flush_interval_ms="1000")}
    config = EmulatorConfig(runtime=AwsLambdaRic(HANDLER), layer=flavour.layer(tmp_path), memory_mb=1769,
                            env=env, mode="lmi", concurrency=4)  # fmt: skip
    async with Emulator(config) as emulator:
        started = time.time()
        await emulator.start()
        # WHEN 400 invocations run, 4 at a time, then SHUTDOWN
        invokes = await emulator.invoke_concurrently([PAYLOAD] * 400, concurrency=4)
        shutdown_at = time.time()
        shutdown = await emulator.shutdown()
        emitted = list(emulator.telemetry.emitted)
        output = [line for p in emulator.extensions for line in p.output]
        peak_in_flight = emulator.peak_in_flight
    # THEN every report is in S3 exactly once, with everything else Lambda sent
    assert [i.status for i in invokes] == ["success"] * 400 and peak_in_flight == 4
    by_key = stored(s3_server, bucket)
    assert_stored_as_emitted(emitted, by_key)
    reports = [e["record"]["requestId"] for events in by_key.values() for e in events if e["type"] == "platform.report"]
    assert sorted(reports) == sorted(i.request_id for i in invokes)
    # and objects landed while it ran: at least one for every flush interval that passed before SHUTDOWN
    landed = [e.at for e in fault_proxy.log if e.method == "PUT" and e.status == 200 and e.at < shutdown_at]
    assert len(landed) >= int(shutdown_at - started) - 1 >= 1
    # and it exited in time, printing only its summary, within the memory bound of on-demand
    (exit_record,) = shutdown.extensions.values()
    assert exit_record.exited_in_time and exit_record.exit_code == 0 and exit_record.peak_rss_mb < 19
    assert [line for line in output if "telemetry-ext shutdown" not in line] == []
    assert parse_summary(output)["dropped"] == 0


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_snapstart_three_restores_write_every_event_once_under_a_new_id_each_with_container_credentials(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    # GIVEN SnapStart: init once, the snapshot, credentials only from the container endpoint
    env = {**flavour.env, **s3_server.extension_env(bucket, fault_proxy.endpoint, flush_interval_ms="0")}
    identity = (s3_server.access_key, s3_server.secret_key, None)
    config = EmulatorConfig(runtime=AwsLambdaRic(HANDLER), layer=flavour.layer(tmp_path), memory_mb=1769,
                            env=env, mode="snapstart", credentials_identity=identity, restore_gap_s=0.5)  # fmt: skip
    async with Emulator(config) as emulator:
        await emulator.start()
        # WHEN it is restored three times, with two invokes after each restore
        for _ in range(3):
            await emulator.restore()
            for _ in range(2):
                assert (await emulator.invoke(PAYLOAD)).status == "success"
        shutdown = await emulator.shutdown()
        emitted = list(emulator.telemetry.emitted)
        output = [line for p in emulator.extensions for line in p.output]
        credentials = list(emulator.credentials_requests)
        function_env = emulator.function_env()
    # THEN every event Lambda sent is in S3 exactly once
    by_key = stored(s3_server, bucket)
    assert_stored_as_emitted(emitted, by_key)
    # and each restore wrote under an instance id of its own, from its restoreStart on
    restore_ids = []
    for key, events in by_key.items():
        instance = key.rsplit("/", 1)[1].rsplit("-", 1)[0]
        if any(e["type"] == "platform.restoreStart" for e in events):
            restore_ids.append(instance)
    assert len(restore_ids) == len(set(restore_ids)) == 3
    # and no object was overwritten: every key written once
    written = Counter(e.target for e in fault_proxy.log if e.method == "PUT" and e.status == 200)
    assert [key for key, n in written.items() if n > 1] == []
    # and the container endpoint was the only credential source, asked with the right token
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(function_env)  # no keys in the environment
    assert credentials and all(r.authorized for r in credentials)
    (exit_record,) = shutdown.extensions.values()
    assert exit_record.exited_in_time and exit_record.exit_code == 0
    assert [line for line in output if "telemetry-ext shutdown" not in line] == []
