"""The execution environment with real processes: a minimal extension written here, runtimes, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from lambda_emulator import Emulator
from lambda_emulator.state.runtimes import AwsLambdaRic
from tests.emulator.harness import REPO, environment
from tests.emulator.harness import seen as seen_records
from tests.emulator.harness import seen_pair as seen

pytestmark = pytest.mark.integration


async def test_a_minimal_extension_goes_through_init_invokes_and_shutdown(tmp_path: Path) -> None:
    config, out = environment(tmp_path)
    async with Emulator(config) as emulator:
        init = await emulator.start()
        invokes = [await emulator.invoke(b'{"log_lines": 1}') for _ in range(3)]
        shutdown = await emulator.shutdown()
    events, telemetry = seen(out)
    types = [e["type"] for e in telemetry]
    # init: initStart was emitted before the subscription and is replayed; then the documented order
    assert types[0] == "platform.initStart" and "platform.telemetrySubscription" in types
    init_end = [t for t in types if t in ("platform.initRuntimeDone", "platform.extension", "platform.initReport")]
    assert init_end == ["platform.initRuntimeDone", "platform.extension", "platform.initReport"]
    assert {"minimal extension ready\n", "simulated runtime started\n"} <= {
        e["record"] for e in telemetry if e["type"] in ("extension", "function")
    }
    # invokes: the INVOKE events carry the request ids, and each request's events come in order
    assert [e["requestId"] for e in events if e["eventType"] == "INVOKE"] == [i.request_id for i in invokes]
    for invoke in invokes:
        order = [e["type"] for e in telemetry if isinstance(e["record"], dict) and
                 e["record"].get("requestId") == invoke.request_id]  # fmt: skip
        assert order == ["platform.start", "platform.runtimeDone", "platform.report"]
    report = next(e for e in telemetry if e["type"] == "platform.report")["record"]
    assert report["metrics"]["initDurationMs"] == init.duration_ms
    assert report["spans"][0]["name"] == "extensionOverhead"
    assert report["metrics"]["memorySizeMB"] == 1769 and report["metrics"]["maxMemoryUsedMB"] > 0
    # shutdown: lowercase reason, a deadline about 2 s ahead, the extension exited by itself
    assert events[-1]["eventType"] == "SHUTDOWN" and events[-1]["shutdownReason"] == "spindown"
    assert all(e.exited_in_time and e.exit_code == 0 for e in shutdown.extensions.values())
    assert types.count("platform.report") == 3  # the last report arrived during the shutdown


async def test_platform_report_arrives_after_the_thaw(tmp_path: Path) -> None:
    config, out = environment(tmp_path)
    async with Emulator(config) as emulator:
        await emulator.start()
        first = await emulator.invoke()
        # while frozen, the report of the first invoke has not been delivered
        _, telemetry = seen(out)
        assert first.request_id not in {
            e["record"].get("requestId") for e in telemetry if e["type"] == "platform.report"
        }
        await emulator.invoke()
    _, telemetry = seen(out)
    assert first.request_id in {e["record"]["requestId"] for e in telemetry if e["type"] == "platform.report"}


async def test_freeze_really_stops_a_busy_extension(tmp_path: Path) -> None:
    config, _ = environment(tmp_path, behaviour="busy")
    async with Emulator(config) as emulator:
        await emulator.start()  # frozen after init
        (name,) = [p.name for p in emulator.extensions]
        frozen_before = emulator.sandbox.figures(name).cpu_ms
        await asyncio.sleep(0.5)  # an observation window, not a synchronisation
        frozen_after = emulator.sandbox.figures(name).cpu_ms
        await emulator.thaw()
        await asyncio.sleep(0.5)
        thawed_after = emulator.sandbox.figures(name).cpu_ms
    assert frozen_after - frozen_before < 20
    assert thawed_after - frozen_after > 200


async def test_the_memory_cap_kills_an_allocating_function_and_the_next_invoke_reinits(tmp_path: Path) -> None:
    config, out = environment(tmp_path, memory_mb=128)
    async with Emulator(config) as emulator:
        await emulator.start()
        killed = await emulator.invoke(b'{"allocate_mb": 400}')
        after = await emulator.invoke(b"{}")
    assert (killed.status, killed.error_type) == ("error", "Runtime.OutOfMemory")
    assert after.status == "success" and after.init is not None and after.init.phase == "invoke"
    events, _ = seen(out)
    assert next(e.get("shutdownReason") for e in events if e["eventType"] == "SHUTDOWN") == "failure"


async def test_the_cpu_quota_throttles_small_functions(tmp_path: Path) -> None:
    durations = {}
    for memory in (128, 1769):
        config, _ = environment(tmp_path / str(memory), memory_mb=memory, layer=None)
        async with Emulator(config) as emulator:
            await emulator.start()
            durations[memory] = (await emulator.invoke(b'{"cpu_ms": 100}')).runtime_duration_ms
    # 128/1769 of a core: 100 ms of CPU takes about 1.4 s of wall time; generous bounds, CI is noisy
    assert durations[128] > 5 * durations[1769]


async def test_the_shutdown_deadline_kills_a_slow_extension(tmp_path: Path) -> None:
    config, _ = environment(tmp_path, behaviour="ignore-shutdown")
    async with Emulator(config) as emulator:
        await emulator.start()
        await emulator.invoke()
        shutdown = await emulator.shutdown()
    (exit_record,) = shutdown.extensions.values()
    assert not exit_record.exited_in_time
    assert 1900 <= shutdown.duration_ms <= 3000


async def test_a_function_timeout_resets_and_the_next_invoke_reinits(tmp_path: Path) -> None:
    config, out = environment(tmp_path, timeout_s=1.0)
    async with Emulator(config) as emulator:
        await emulator.start()
        timed_out = await emulator.invoke(b'{"hang": true}')
        after = await emulator.invoke(b"{}")
    assert timed_out.status == "timeout"
    assert after.status == "success" and after.init is not None and after.init.phase == "invoke"
    events, telemetry = seen(out)
    assert next(e["shutdownReason"] for e in events if e["eventType"] == "SHUTDOWN") == "timeout"
    reports = {e["record"]["requestId"]: e["record"]["status"] for e in telemetry if e["type"] == "platform.report"}
    assert reports[timed_out.request_id] == "timeout"  # the report of the reset invoke reached the old extension


async def test_an_extension_crash_fails_the_invoke(tmp_path: Path) -> None:
    config, _ = environment(tmp_path, behaviour="crash-on-invoke")
    async with Emulator(config) as emulator:
        await emulator.start()
        crashed = await emulator.invoke()
    assert (crashed.status, crashed.error_type) == ("error", "Extension.Crash")


async def test_awslambdaric_runs_a_python_handler_from_a_file(tmp_path: Path) -> None:
    runtime = AwsLambdaRic(REPO / "tests" / "handlers" / "header_counter.py")
    config, _ = environment(tmp_path, runtime=runtime, layer=None)
    async with Emulator(config) as emulator:
        await emulator.start()
        record = await emulator.invoke(b'{"sleep_ms": 10, "headers": {"a": "1", "b": "2", "c": "3"}}')
        emitted = [e["record"] for e in emulator.telemetry.emitted if e["type"] == "function"]
    assert record.status == "success"
    assert orjson.loads(record.response) == {"statusCode": 200, "body": '{"headers": 3}'}
    assert any(f"counting 3 headers for {record.request_id}" in line for line in emitted)


async def test_provisioned_concurrency_is_an_init_type(tmp_path: Path) -> None:
    config, out = environment(tmp_path, init_type="provisioned-concurrency")
    async with Emulator(config) as emulator:
        await emulator.start()
        await emulator.invoke(b"{}")
    recorded = seen_records(out)
    (env,) = recorded.of("env")
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    inits = [e["record"] for e in recorded.telemetry if e["type"].startswith("platform.init")]
    assert len(inits) == 3 and {r["initializationType"] for r in inits} == {"provisioned-concurrency"}


async def test_container_credentials_on_demand_are_the_only_source_and_are_refreshed(tmp_path: Path) -> None:
    # GIVEN on-demand with container credentials of a given identity, valid 2 s
    identity = ("AKIAONDEMAND", "secret-on-demand", "session-on-demand")
    config, out = environment(tmp_path, extra_env={"MINIMAL_CREDENTIALS": "1"}, credentials="container",
                              credentials_identity=identity, credentials_ttl_s=2.0)  # fmt: skip
    async with Emulator(config) as emulator:
        await emulator.start()
        await emulator.invoke(b'{"sleep_ms": 1100}')  # more than half the lifetime passes in the function
        await emulator.invoke(b"{}")
        endpoint = emulator.credentials
    requests = emulator.credentials_requests  # the SHUTDOWN's fetch included
    recorded = seen_records(out)
    (env,) = recorded.of("env")
    assert env["AWS_ACCESS_KEY_ID"] is None and env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    answers = [c["body"] for c in recorded.of("credentials")]
    assert {(a["AccessKeyId"], a["SecretAccessKey"], a["Token"]) for a in answers} == {identity}
    # THEN the credentials fetched after more than half their life are new ones, and every fetch was authorized
    assert answers[2]["Expiration"] > answers[0]["Expiration"]
    assert endpoint is not None and endpoint.issued >= 2
    assert [r.authorized for r in requests] == [True] * len(answers) and endpoint.refused_requests == 0
