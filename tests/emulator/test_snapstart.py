"""SnapStart with real processes: one init, the snapshot, several restores of it (lambda-api.md §3.8; RIE
`handleRestore`; SnapStart docs; DataDog PR #911 on the init events restored environments receive)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.errors import EmulatorError
from lambda_emulator.state.runtimes import AwsLambdaRic
from tests.emulator.harness import HERE, environment, fixture, outside_peer, seen, shape

pytestmark = pytest.mark.integration
INIT_END = ["platform.initRuntimeDone", "platform.extension", "platform.initReport"]
RESTORE = ["platform.restoreStart", "platform.restoreRuntimeDone", "platform.restoreReport"]


def snapstart(tmp_path: Path, extra_env: dict[str, str] | None = None, **settings: Any) -> tuple[EmulatorConfig, Path]:
    settings.setdefault("restore_gap_s", 0.2)
    return environment(tmp_path, "normal", extra_env, mode="snapstart", **settings)


def function_lines(emulator: Emulator) -> list[str]:
    return [e["record"] for e in emulator.telemetry.emitted if e["type"] == "function"]


async def test_init_runs_once_with_container_credentials_only_and_the_snapshot_delivers_nothing(tmp_path: Path) -> None:
    config, out = snapstart(
        tmp_path, {"MINIMAL_CREDENTIALS": "1", "AWS_ACCESS_KEY_ID": "AKIAFROMENV", "AWS_SECRET_ACCESS_KEY": "s"}
    )
    async with Emulator(config) as emulator:
        init = await emulator.start()
        recorded = seen(out)
        # THEN init ran (snap-start), the extension was given no key variable, fetched credentials with the token
        assert init.status == "success" and [i.phase for i in emulator.inits] == ["init"]
        (env,) = recorded.of("env")
        assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "snap-start"
        assert env["AWS_ACCESS_KEY_ID"] is env["AWS_SECRET_ACCESS_KEY"] is env["AWS_SESSION_TOKEN"] is None
        assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == f"http://{emulator.api_address}/2021-04-23/credentials"
        (credentials,) = recorded.of("credentials")
        assert credentials["status"] == 200 and credentials["body"]["AccessKeyId"] == "AKIAFROMENV"
        # AND nothing was delivered before the snapshot: every restore will get it all
        assert recorded.telemetry == []
        assert emulator.sandbox.frozen


@pytest.mark.parametrize("redeliver", [False, True], ids=["first-restore-only", "every-restore"])
async def test_each_restore_delivers_the_snapshot_s_init_events_then_its_own(tmp_path: Path, redeliver: bool) -> None:
    config, out = snapstart(tmp_path)
    config = dataclasses.replace(config, redeliver_snapshot_telemetry=redeliver)
    async with Emulator(config) as emulator:
        await emulator.start()
        restores, invokes = [], []
        for _ in range(3):
            restores.append(await emulator.restore())
            invokes.append(await emulator.invoke(b"{}"))
    recorded = seen(out)
    assert [e["eventType"] for e in recorded.events] == ["INVOKE", "INVOKE", "INVOKE", "SHUTDOWN"]
    # the end of the snapshot's init (at every restore, or once: the same processes continue), then each
    # restore's own events, then its invoke
    types = recorded.telemetry_types()
    ordered = [t for t in types if t in [*INIT_END, *RESTORE, "platform.start"]]
    later = [*INIT_END, *RESTORE, "platform.start"] if redeliver else [*RESTORE, "platform.start"]
    assert ordered == [*INIT_END, *RESTORE, "platform.start"] + later * 2
    assert types.count("platform.initStart") == types.count("platform.initReport") == (3 if redeliver else 1)
    assert types.count("platform.restoreReport") == 3 and "platform.runtimeDone" in types
    assert all(r.status == "success" for r in restores) and all(i.status == "success" for i in invokes)


async def test_restore_and_report_records_have_snapstart_s_shapes(tmp_path: Path) -> None:
    config, out = snapstart(tmp_path)
    async with Emulator(config) as emulator:
        await emulator.start()
        restore = await emulator.restore()
        invoke = await emulator.invoke(b"{}")
    telemetry = seen(out).telemetry
    by_type = {e["type"]: e["record"] for e in telemetry}
    for name in (*RESTORE, "platform.report", "platform.initReport"):
        assert shape(by_type[name]) == shape(fixture(f"snapstart.{name}")), name
    assert by_type["platform.restoreReport"]["metrics"] == {"durationMs": restore.duration_ms}
    report = by_type["platform.report"]
    assert report["requestId"] == invoke.request_id
    assert report["metrics"]["restoreDurationMs"] == restore.duration_ms and "initDurationMs" not in report["metrics"]
    assert by_type["platform.restoreStart"]["instanceId"] != by_type["platform.initStart"]["instanceId"]


async def test_the_runtime_s_restore_hook_runs_at_the_restore(tmp_path: Path) -> None:
    config, _ = snapstart(tmp_path)
    async with Emulator(config) as emulator:
        await emulator.start()
        assert emulator.current.runtime.restore.waiting  # the simulated runtime waits on GET /runtime/restore/next
        first = await emulator.restore()
        second = await emulator.restore()
        emitted = [(e["type"], e["record"]) for e in emulator.telemetry.emitted]
    hook = next(i for i, (t, r) in enumerate(emitted) if t == "function" and "after-restore hook ran" in r)
    start = next(i for i, (t, _) in enumerate(emitted) if t == "platform.restoreStart")
    done = next(i for i, (t, _) in enumerate(emitted) if t == "platform.restoreRuntimeDone")
    assert start < hook < done
    # the same processes again: the runtime is past restore/next, its hooks cannot run twice (README, SnapStart)
    assert (first.runtime_hooks, second.runtime_hooks) == (True, False)


async def test_awslambdaric_runs_the_handler_s_snapshot_and_restore_hooks(tmp_path: Path) -> None:
    runtime = AwsLambdaRic(HERE / "snapstart_handler.py")
    config, _ = snapstart(tmp_path, runtime=runtime, layer=None)
    async with Emulator(config) as emulator:
        await emulator.start()
        assert any("before-snapshot hook ran" in line for line in function_lines(emulator))
        assert not any("after-restore hook ran" in line for line in function_lines(emulator))
        restore = await emulator.restore()
        assert any("after-restore hook ran" in line for line in function_lines(emulator))
        invoke = await emulator.invoke(b"{}")
    assert (restore.status, restore.runtime_hooks, invoke.status) == ("success", True, "success")


async def test_a_failing_after_restore_hook_fails_the_restore(tmp_path: Path) -> None:
    runtime = AwsLambdaRic(HERE / "snapstart_handler.py")
    config, _ = snapstart(tmp_path, {"HANDLER_RESTORE_FAILS": "1"}, runtime=runtime, layer=None)
    async with Emulator(config) as emulator:
        await emulator.start()
        restore = await emulator.restore()
        records = {e["type"]: e["record"] for e in emulator.telemetry.emitted}
        # THEN the restore failed with the runtime's error type, and these processes cannot be restored again
        assert (restore.status, restore.error_type) == ("error", "Runtime.AfterRestoreError")
        assert records["platform.restoreRuntimeDone"] == {"status": "error", "errorType": "Runtime.AfterRestoreError"}
        assert records["platform.restoreReport"]["status"] == "error"
        with pytest.raises(EmulatorError, match="stopped"):
            await emulator.restore()


async def test_restores_cut_outward_connections_and_keep_the_runtime_api_s(tmp_path: Path) -> None:
    async with outside_peer() as peer:
        # GIVEN an extension holding a connection to a peer outside the environment, opened during init
        config, out = snapstart(tmp_path, {"MINIMAL_PROBE": f"127.0.0.1:{peer.port}"})
        async with Emulator(config) as emulator:
            await emulator.start()
            restores = []
            for _ in range(3):
                restores.append(await emulator.restore())
                await emulator.invoke(b"{}")  # the extension tries its connection, then opens a new one
    recorded = seen(out)
    probes = recorded.of("probe")
    # THEN each restore cut it: the extension's next use failed, the peer saw a reset, a new one worked till the next
    assert probes[0] == {"reply": "pong"}
    assert [p.get("error") in (103, 104, 32) for p in probes[1:4]] == [True, True, True]
    assert [r.connections_cut for r in restores] == [1, 1, 1] and peer.resets == 3
    # AND its /next, pending on the Runtime API since the snapshot, returned each INVOKE (the API is inside)
    assert [e["eventType"] for e in recorded.events][:3] == ["INVOKE"] * 3
    assert all(r.connections_kept >= 1 for r in restores)


async def test_a_restore_waits_the_gap_frozen_and_runs_the_test_s_hooks_then(tmp_path: Path) -> None:
    config, _ = snapstart(tmp_path, restore_gap_s=0.5)
    async with Emulator(config) as emulator:
        frozen_during_hook: list[bool] = []
        emulator.restore_hooks.append(lambda: frozen_during_hook.append(emulator.sandbox.frozen))
        await emulator.start()
        restores = [await emulator.restore() for _ in range(2)]
        await emulator.invoke(b"{}")
    assert frozen_during_hook == [True, True]
    assert all(r.gap_s >= 0.5 for r in restores)


async def test_credentials_after_a_restore_are_new_and_a_wrong_token_is_refused(tmp_path: Path) -> None:
    config, out = snapstart(tmp_path, {"MINIMAL_CREDENTIALS": "1"}, restore_gap_s=1.1, credentials_ttl_s=3600)
    async with Emulator(config) as emulator:
        await emulator.start()
        await emulator.restore()
        await emulator.invoke(b"{}")
        endpoint = emulator.credentials
        assert endpoint is not None
        async with aiohttp.ClientSession() as session:
            url = f"http://{emulator.api_address}/2021-04-23/credentials"
            async with session.get(url, headers={"Authorization": "not-the-token"}) as refused:
                assert refused.status == 404
    expirations = [datetime.fromisoformat(c["body"]["Expiration"]) for c in seen(out).of("credentials")]
    assert expirations[1] > expirations[0]  # issued anew at the restore (RIE UpdateCredentials)
    phases = [(r.phase, r.authorized) for r in endpoint.requests]
    assert (phases[:2] == [("init", True), ("invoke", True)] and phases[-1] == ("shutdown", False)) or (
        ("invoke", False) in phases
    )
    assert endpoint.refused_requests == 1 and endpoint.authorized_requests == len(expirations)
