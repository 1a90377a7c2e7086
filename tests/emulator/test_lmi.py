"""Lambda Managed Instances with real processes: the minimal extension, the simulated runtime's workers and
awslambdaric's (lambda-api.md §1.5, §2.1, §3.6-§3.7, §6.2; LMI docs "execution environment")."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.errors import InitFailed
from lambda_emulator.state.measurements import InvokeRecord
from lambda_emulator.state.runtimes import AwsLambdaRic
from tests.emulator.harness import REPO, environment, fixture, seen, shape

pytestmark = pytest.mark.integration
LMI_EXTENSION = {"MINIMAL_EVENTS": "SHUTDOWN", "MINIMAL_SCHEMA": "2025-01-29"}


Config = tuple[EmulatorConfig, Path]


def lmi(tmp_path: Path, behaviour: str = "normal", concurrency: int = 4, **settings: Any) -> Config:
    extra = {**LMI_EXTENSION, **settings.pop("extra_env", {})}
    return environment(tmp_path, behaviour, extra, mode="lmi", concurrency=concurrency, **settings)


def most_at_once(records: list[InvokeRecord]) -> int:
    """The most invocations whose [released, answered] intervals overlap."""
    edges = sorted([(r.started_at, 1) for r in records] + [(r.ended_at, -1) for r in records])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


async def test_an_invoke_registration_fails_init_with_lmi_s_error(tmp_path: Path) -> None:
    # GIVEN an extension that asks for INVOKE, as every on-demand extension does
    config, out = lmi(tmp_path, extra_env={"MINIMAL_EVENTS": "INVOKE,SHUTDOWN"})
    async with Emulator(config) as emulator:
        # WHEN the environment initialises THEN the registration is refused and init fails
        with pytest.raises(InitFailed):
            await emulator.start()
    (refusal,) = seen(out).of("register_error")
    assert refusal == {"status": 403, "body": {"errorMessage": "INVOKE: ErrorInvalidEventType",
                                               "errorType": "Extension.InvalidEventType"}}  # fmt: skip


async def test_an_older_telemetry_schema_is_rejected(tmp_path: Path) -> None:
    config, out = lmi(tmp_path, extra_env={"MINIMAL_SCHEMA": "2022-12-13"})
    async with Emulator(config) as emulator:
        await emulator.start()
        await emulator.invoke(b"{}")
    (refusal,) = seen(out).of("subscribe_error")
    assert refusal["status"] == 400 and refusal["body"]["errorType"] == "ValidationError"
    assert seen(out).telemetry == []  # no subscription: nothing delivered


async def test_n_workers_serve_n_invocations_at_once(tmp_path: Path) -> None:
    # GIVEN 4 runtime workers and a load generator with 4 callers
    config, _ = lmi(tmp_path, concurrency=4)
    async with Emulator(config) as emulator:
        await emulator.start()
        # WHEN 16 invokes of 300 ms are spread over the callers
        records = await emulator.invoke_concurrently([b'{"sleep_ms": 300}'] * 16)
        peak = emulator.peak_in_flight
    # THEN 4 ran at once, never more, on 4 different worker processes, all successful
    assert [r.status for r in records] == ["success"] * 16
    assert most_at_once(records) == 4 and peak == 4
    assert len({orjson.loads(r.response)["worker"] for r in records}) == 4


async def test_telemetry_has_lmi_s_shapes_and_no_runtime_done(tmp_path: Path) -> None:
    config, out = lmi(tmp_path, concurrency=2)
    async with Emulator(config) as emulator:
        await emulator.start()
        records = await emulator.invoke_concurrently([b'{"sleep_ms": 20}'] * 4)
    telemetry = seen(out).telemetry
    types = [e["type"] for e in telemetry]
    assert "platform.runtimeDone" not in types
    assert types.count("platform.start") == types.count("platform.report") == 4
    by_type = {e["type"]: e["record"] for e in telemetry}
    for name in ("platform.report", "platform.start", "platform.initReport"):
        assert shape(by_type[name]) == shape(fixture(f"lmi.{name}")), name
    start_shape = shape(fixture("lmi.platform.initStart"))
    del start_shape["runtimeVersionArn"]  # not emulated (no runtime ARN to give)
    assert shape(by_type["platform.initStart"]) == start_shape
    assert {e["record"]["initializationType"] for e in telemetry if e["type"].startswith("platform.init")} == {
        "lambda-managed-instances"
    }
    # each report's duration is its invoke's, from the event released to the response sent
    reports = {e["record"]["requestId"]: e["record"] for e in telemetry if e["type"] == "platform.report"}
    for record in records:
        assert reports[record.request_id]["metrics"] == {"durationMs": record.duration_ms}


async def test_the_environment_is_never_frozen(tmp_path: Path) -> None:
    # GIVEN an extension that burns CPU in a thread WHEN the environment waits between invokes
    config, _ = lmi(tmp_path, behaviour="busy", concurrency=2)
    async with Emulator(config) as emulator:
        await emulator.start()
        (name,) = [p.name for p in emulator.extensions]
        before = emulator.sandbox.figures(name).cpu_ms
        await asyncio.sleep(0.5)  # an observation window, not a synchronisation
        after = emulator.sandbox.figures(name).cpu_ms
    # THEN it kept running (on-demand, the freezer stops it: test_lifecycle)
    assert after - before > 200


async def test_shutdown_is_the_extension_s_only_event(tmp_path: Path) -> None:
    config, out = lmi(tmp_path, concurrency=2)
    async with Emulator(config) as emulator:
        await emulator.start()
        await emulator.invoke_concurrently([b"{}"] * 4)
        shutdown = await emulator.shutdown()
    recorded = seen(out)
    assert [e["eventType"] for e in recorded.events] == ["SHUTDOWN"]
    assert recorded.events[0]["shutdownReason"] == "spindown"
    assert all(e.exited_in_time and e.exit_code == 0 for e in shutdown.extensions.values())
    assert recorded.telemetry_types().count("platform.report") == 4  # every report delivered before the exit
    (env,) = recorded.of("env")
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "lambda-managed-instances"
    assert env["AWS_LAMBDA_MAX_CONCURRENCY"] is None  # the runtime's variable only


async def test_a_timeout_fails_that_invoke_only(tmp_path: Path) -> None:
    # GIVEN 2 workers and a 2 s timeout
    config, _ = lmi(tmp_path, concurrency=2, timeout_s=2.0)
    async with Emulator(config) as emulator:
        await emulator.start()
        runtime = emulator.runtime_process
        assert runtime is not None
        # WHEN one invoke outlasts the timeout (its worker answers at 2.5 s) while another is quick
        slow, quick = await asyncio.gather(emulator.invoke(b'{"sleep_ms": 2500}'), emulator.invoke(b"{}"))
        # THEN only the slow one failed, and the environment was not reset: the other worker still serves
        assert (slow.status, slow.error_type, quick.status) == ("timeout", "Sandbox.Timedout", "success")
        later = await emulator.invoke(b'{"sleep_ms": 1500}')  # ends a second after the slow worker's late answer
        assert later.status == "success" and emulator.runtime_process is runtime and runtime.alive
    # AND the late answer was refused with 410 (the simulated worker prints what it was told, and goes on)
    function_lines = [e["record"] for e in emulator.telemetry.emitted if e["type"] == "function"]
    assert any("answer refused: 410" in line and "InvokeTimeout" in line for line in function_lines)
    reports = [e["record"] for e in emulator.telemetry.emitted if e["type"] == "platform.report"]
    timed_out = next(r for r in reports if r["requestId"] == slow.request_id)
    assert (timed_out["status"], timed_out["errorType"]) == ("timeout", "Sandbox.Timedout")
    assert "spans" not in timed_out


async def test_awslambdaric_runs_its_workers_concurrently(tmp_path: Path) -> None:
    # GIVEN AWS's runtime client with the HeaderCounter handler, 4 workers
    runtime = AwsLambdaRic(REPO / "tests" / "handlers" / "header_counter.py")
    config, _ = lmi(tmp_path, concurrency=4, runtime=runtime, layer=None)
    async with Emulator(config) as emulator:
        await emulator.start()
        records = await emulator.invoke_concurrently([b'{"sleep_ms": 300}'] * 8)
    assert [r.status for r in records] == ["success"] * 8
    assert most_at_once(records) == 4
    assert {orjson.loads(r.response)["statusCode"] for r in records} == {200}


async def test_a_crashed_worker_leaves_the_others_serving(tmp_path: Path) -> None:
    # GIVEN 2 workers WHEN one of them dies in an invoke (the simulated runtime forks one process per worker)
    config, _ = lmi(tmp_path, concurrency=2, timeout_s=1.0)
    async with Emulator(config) as emulator:
        await emulator.start()
        crashed = await emulator.invoke(b'{"crash": true}')
        # THEN that invoke gets no answer (timeout), and the environment goes on with the other worker
        after = await emulator.invoke_concurrently([b'{"sleep_ms": 50}'] * 4)
        generation = emulator.current.number
    assert crashed.status == "timeout"
    assert [r.status for r in after] == ["success"] * 4 and most_at_once(after) == 1 and generation == 1
    assert len({orjson.loads(r.response)["worker"] for r in after}) == 1
