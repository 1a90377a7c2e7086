"""Cases 7-13: a log flood, bad telemetry input, shutdown under a slow S3, resets, OOM, misconfiguration,
security."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.errors import InitFailed
from lambda_emulator.state.runtimes import SimulatedRuntime
from tests.reliability.harness import report, run_case
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.layers import Flavour
from tests.support.listening import environment_pids, listening
from tests.support.s3 import S3Server

pytestmark = pytest.mark.integration


async def test_case_07_a_long_invoke_of_25k_events_loses_none_at_the_default_settings(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    # GIVEN the default settings (ring of 20,000 events) and an invoke that logs 25,000 lines over 3 s
    started = time.monotonic()
    payloads = [b'{"log_lines": 25000, "sleep_ms": 3000}', b"{}"]
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, payloads, timeout_s=60.0)
    elapsed = time.monotonic() - started
    summary = outcome.summary
    # THEN nothing is dropped: a full batch is written in the background while the function runs
    assert summary["dropped"] == summary["lambda_dropped"] == summary["unwritten"] == 0, f"{summary}"
    assert outcome.missing() == [] and outcome.duplicates == 0
    assert any(e["type"] == "platform.initStart" for e in outcome.stored)  # the oldest events too
    rate = round((summary["received"] + summary["lambda_dropped"]) / elapsed)
    report("07 long invoke: 25k log lines", flavour, outcome, ingest_events_per_s=rate, objects=len(outcome.objects))


async def test_case_07_a_flood_of_250k_lines_keeps_memory_bounded_counts_drops_and_keeps_the_newest(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    started = time.monotonic()
    payloads = [b'{"log_lines": 250000}', b"{}"]
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, payloads, timeout_s=60.0)
    elapsed = time.monotonic() - started
    summary = outcome.summary
    # every event is written, dropped (counted) or left unwritten at the deadline (counted): none unaccounted
    assert summary["received"] == summary["written"] + summary["dropped"] + summary["unwritten"]
    assert summary["received"] + summary["lambda_dropped"] >= 250_000  # what the emulator could not deliver is counted
    assert outcome.peak_rss_mb < 100  # ring bound 8 MiB + batches, far below the 250k lines' size
    lines = {e["record"] for e in outcome.stored if e["type"] == "function"}
    assert "log line 249999 of the simulated function\n" in lines  # the newest are kept
    rate = round((summary["received"] + summary["lambda_dropped"]) / elapsed)
    report("07 flood: 250k log lines in one invoke", flavour, outcome, ingest_events_per_s=rate,
           unwritten=summary["unwritten"])  # fmt: skip


BAD_BODIES = [
    (b"{not json", "application/json"),
    (b'{"an": "object"}', "application/json"),
    (b"\xff\xfe not utf-8", "application/json"),
    (b"[" + b'"x",' * 2_000_000 + b'"x"]', "application/json"),  # over the 4 MiB cap
    (b'[{"time": "t", "type": "platform.fromTheFuture", "record": {}}, 7]', "text/plain"),
    (b'[{"no": "time, type or record"}]', "application/json"),
]
POSTED_OBJECTS: list[dict[str, Any]] = [
    {"time": "t", "type": "platform.fromTheFuture", "record": {}},
    {"no": "time, type or record"},
]
"""The JSON objects among BAD_BODIES: the extension keeps them, as any event Lambda may send."""


async def test_case_08_bad_telemetry_input_gets_200_is_counted_and_loses_nothing_else(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    statuses: list[int] = []

    async def post_bad_input(emulator: Emulator, number: int) -> None:
        if number != 0:
            return
        await emulator.thaw()  # the listener runs only while the environment is thawed
        listener = f"http://{emulator.sandbox_address}:9071/"  # where sandbox.localdomain resolves inside
        async with aiohttp.ClientSession() as session:
            for body, content_type in BAD_BODIES:
                async with session.post(listener, data=body, headers={"Content-Type": content_type}) as response:
                    statuses.append(response.status)
        await emulator.freeze()

    payloads = [b'{"log_lines": 2}'] * 3
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, payloads, None, post_bad_input)
    assert statuses == [200] * len(BAD_BODIES)
    assert outcome.summary["parse_failures"] == 5  # 4 unreadable bodies + 1 array item that is not an object
    outcome.emitted += POSTED_OBJECTS  # sent by the test itself, not by the emulator: the stored must match them
    assert outcome.missing() == [] and outcome.duplicates == 0
    kept = {e.get("type") for e in outcome.stored}
    assert "platform.fromTheFuture" in kept and any(e == {"no": "time, type or record"} for e in outcome.stored)
    report("08 bad telemetry input", flavour, outcome, parse_failures=outcome.summary["parse_failures"])


@pytest.mark.parametrize("reason", ["spindown", "TIMEOUT", "Failure"])
async def test_case_09_shutdown_under_a_slow_s3_exits_before_the_deadline_and_counts_the_rest(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str, reason: str
) -> None:
    fault_proxy.inject(Fault("delay", seconds=5, method="PUT"), times=20)
    config = EmulatorConfig(
        runtime=SimulatedRuntime(),
        layer=flavour.layer(tmp_path),
        memory_mb=1769,
        env={**flavour.env, **s3_server.extension_env(bucket, fault_proxy.endpoint)},
    )
    async with Emulator(config) as emulator:
        await emulator.start()
        for _ in range(3):
            await emulator.invoke(b'{"log_lines": 2}')
        shutdown = await emulator.shutdown(reason)
        output = [line for p in emulator.extensions for line in p.output]
    (exit_record,) = shutdown.extensions.values()
    assert exit_record.exited_in_time and exit_record.exit_code == 0
    (line,) = [text for text in output if "telemetry-ext shutdown" in text]
    assert f"reason={reason.lower()}" in line and "unwritten=0" not in line
    assert shutdown.duration_ms < 2000


@pytest.mark.parametrize("failure", [b'{"hang": true}', b'{"crash": true}'], ids=["timeout", "crash"])
async def test_case_10_a_reset_writes_the_last_report_and_the_new_extension_starts_clean(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str, failure: bytes
) -> None:
    payloads = [b'{"log_lines": 1}', failure, b'{"log_lines": 1}', b"{}"]
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, payloads, timeout_s=1.5)
    failed = outcome.invokes[1]
    assert failed.status in ("timeout", "error") and outcome.invokes[2].init is not None
    reports = {
        e["record"]["requestId"]: e["record"]["status"] for e in outcome.stored if e["type"] == "platform.report"
    }
    assert reports[failed.request_id] == failed.status  # written by the old extension during its SHUTDOWN
    assert len({m["instanceId"] for m in outcome.metadata}) == 2  # the new process is a new writer
    assert outcome.missing() == [] and outcome.duplicates == 0
    report(f"10 function {failure.decode()} -> reset", flavour, outcome)


async def test_case_11_an_oom_of_the_function_loses_nothing_the_extension_had(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    payloads = [b'{"log_lines": 3}', b'{"allocate_mb": 400}', b"{}"]
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, payloads, memory_mb=128, timeout_s=10.0)
    assert outcome.invokes[1].error_type == "Runtime.OutOfMemory"
    assert outcome.missing() == [] and outcome.duplicates == 0
    report("11 function OOM at 128 MB", flavour, outcome)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEMETRY_EXT_BUCKET", ""),
        ("TELEMETRY_EXT_RING_MAX_EVENTS", "-5"),
        ("TELEMETRY_EXT_FLUSH_BUDGET_MS", "soon"),
        ("TELEMETRY_EXT_TYPES", "platform,logs"),
        ("TELEMETRY_EXT_LISTENER_PORT", "9001"),
        ("AWS_ACCESS_KEY_ID", ""),  # no credentials at all: named at init, not found out at the first PUT
    ],
)
async def test_case_12_misconfiguration_fails_init_fast_naming_the_variable(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, variable: str, value: str
) -> None:
    env = {**flavour.env, "TELEMETRY_EXT_BUCKET": "a-bucket", variable: value}
    config = EmulatorConfig(runtime=SimulatedRuntime(), layer=flavour.layer(tmp_path), memory_mb=1769, env=env)
    async with Emulator(config) as emulator:
        with pytest.raises(InitFailed):
            await emulator.start()
        (agent,) = emulator.registry.agents.values()
        init = emulator.inits[-1]
    assert variable in orjson.loads(agent.error_body)["errorMessage"]
    assert init.duration_ms < 5000  # nothing hangs


async def test_case_13_credentials_stay_secret_keys_stay_safe_listener_stays_inside(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    bound: set[tuple[str, int]] = set()
    inside: set[str] = set()

    async def where_it_listens(emulator: Emulator, number: int) -> None:
        bound.update(listening(environment_pids(p.pid for p in emulator.extensions)))
        inside.add(emulator.sandbox_address)

    fault_proxy.bucket_owner = "123456789012"
    settings = {"flush_interval_ms": "0", "prefix": "/../logs//./x/..", "expected_bucket_owner": "123456789012"}
    outcome = await run_case(
        flavour, tmp_path, s3_server, fault_proxy, bucket, [b'{"log_lines": 2}'] * 3, settings, where_it_listens,
        function_name="../../etc/passwd",
    )  # fmt: skip
    secrets = [s3_server.secret_key.encode(), s3_server.access_key.encode()]
    everything = b"".join(line.encode() for line in outcome.output) + b"".join(orjson.dumps(e) for e in outcome.stored)
    assert not any(secret in everything for secret in secrets)
    assert outcome.objects and all(not k.startswith("/") and ".." not in k for k in outcome.objects)
    # the listener is bound to the environment's own address only (what sandbox.localdomain resolves to), never
    # to a wildcard nor to the host's shared loopback
    (address,) = inside
    assert address.startswith("127.") and address != "127.0.0.1"
    assert bound == {(address, 9071)}
    assert outcome.missing() == []
    report("13 security: secrets, keys, bind address, owner", flavour, outcome, bound_to=sorted(a for a, _ in bound))


async def test_case_13_an_expected_bucket_owner_mismatch_is_a_clear_error(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    fault_proxy.bucket_owner = "123456789012"
    settings = {"flush_interval_ms": "0", "expected_bucket_owner": "999999999999"}
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, [b"{}"] * 3, settings)
    errors = [line for line in outcome.output if "S3 write failed" in line]
    assert len(errors) == 1 and "AccessDenied" in errors[0] and outcome.objects == {}
    report("13 ExpectedBucketOwner mismatch", flavour, outcome, errors_logged=len(errors))
