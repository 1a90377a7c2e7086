"""Extensions as they are published run unmodified: a launcher that runs /opt/<name>/extension.py, a listener
bound to sandbox.localdomain, several layers merged into /opt, the function's code at /var/task."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.runtimes import AwsLambdaRic, SimulatedRuntime
from tests.emulator.harness import (
    FS_PROBE,
    HERE,
    REPO,
    SAMPLE,
    SAMPLE_LAYER,
    dispatch_receiver,
    environment,
    seen,
    zip_layer,
)
from tests.support.listening import environment_pids, listening

pytestmark = pytest.mark.integration
SAMPLE_PORT = 4243


def events_of(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for batch in batches for event in batch["events"]]


async def test_a_published_style_extension_runs_unmodified_through_init_invokes_and_shutdown(tmp_path: Path) -> None:
    # GIVEN the sample's layer zip, as published: its launcher runs python3 /opt/sample_telemetry_extension/...
    layer = zip_layer(SAMPLE_LAYER, tmp_path / "sample.zip")
    async with dispatch_receiver() as (url, batches):
        config = EmulatorConfig(runtime=SimulatedRuntime(), layers=(layer,), memory_mb=1769,
                                env={"DISPATCH_POST_URI": url}, use_namespaces=True)  # fmt: skip
        async with Emulator(config) as emulator:
            # WHEN it goes through init, three invokes and a spindown
            init = await emulator.start()
            bound = listening(environment_pids(p.pid for p in emulator.extensions))
            invokes = [await emulator.invoke(b'{"log_lines": 2}') for _ in range(3)]
            shutdown = await emulator.shutdown()
            address = emulator.sandbox_address
    # THEN init succeeded with its listener on the environment's own address (sandbox.localdomain inside)
    assert init.status == "success" and bound == {(address, SAMPLE_PORT)} and address != "127.0.0.1"
    # and every invoke succeeded, and the extension exited by itself in time after SHUTDOWN
    assert [i.status for i in invokes] == ["success"] * 3
    (exit_record,) = shutdown.extensions.values()
    assert exit_record.exit_code == 0 and exit_record.exited_in_time
    # and it received the whole lifecycle, as the subscriber of schema 2022-07-01 it is, at the Host it named
    events = events_of(batches)
    assert {batch["host"] for batch in batches} == {f"sandbox.localdomain:{SAMPLE_PORT}"}
    (start,) = [e["record"] for e in events if e["type"] == "platform.initStart"]
    assert start == {"initializationType": "on-demand", "phase": "init"}
    assert f"{SAMPLE}  launching extension\n" in [e["record"] for e in events if e["type"] == "extension"]
    logs = [e["record"] for e in events if e["type"] == "function"]
    assert all(isinstance(line, str) for line in logs) and "log line 1 of the simulated function\n" in logs
    for kind in ("platform.start", "platform.runtimeDone", "platform.report"):
        ids = [e["record"]["requestId"] for e in events if e["type"] == kind]
        assert ids == [i.request_id for i in invokes], kind  # the last report too, delivered after SHUTDOWN


async def test_two_layers_from_two_zips_merge_into_opt_in_order(tmp_path: Path) -> None:
    # GIVEN two layer zips with an extension each and a file both ship, and a function that reads /opt
    first = zip_layer(SAMPLE_LAYER, tmp_path / "first.zip", {"shared/which-layer.txt": "first"})
    minimal = tmp_path / "minimal-layer"
    (minimal / "extensions").mkdir(parents=True)
    (minimal / "extensions" / "minimal").write_bytes((HERE / "minimal_extension.py").read_bytes())
    (minimal / "extensions" / "minimal").chmod(0o755)
    second = zip_layer(minimal, tmp_path / "second.zip", {"shared/which-layer.txt": "second"})
    config, out = environment(tmp_path, runtime=AwsLambdaRic(FS_PROBE), layer=None, layers=(first, second))
    async with dispatch_receiver() as (url, batches):
        config.env["DISPATCH_POST_URI"] = url
        async with Emulator(config) as emulator:
            # WHEN the environment runs an invoke
            await emulator.start()
            record = await emulator.invoke(b"{}")
            await emulator.shutdown()
            agents = {a.name: a.state for a in emulator.registry.agents.values()}
            address = emulator.sandbox_address
    # THEN both layers' extensions ran side by side, and the later layer's file won
    assert agents == {SAMPLE: "Ready", "minimal": "Ready"}
    seen_by_function = orjson.loads(record.response)
    assert seen_by_function["layer"] == "second" and seen_by_function["opt_writable"] is False
    # and each extension got telemetry in its own schema (the sample 2022-07-01, minimal 2022-12-13)
    (sample_start,) = [e["record"] for e in events_of(batches) if e["type"] == "platform.initStart"]
    (minimal_start,) = [e["record"] for e in seen(out).telemetry if e["type"] == "platform.initStart"]
    assert "functionName" not in sample_start and minimal_start["functionName"] == config.function_name
    # and the function sees its code at /var/task (read-only) and the sandbox's names at the same address
    assert seen_by_function["cwd"] == seen_by_function["task_root"] == "/var/task"
    assert seen_by_function["task_writable"] is False
    assert seen_by_function["sandbox.localdomain"] == seen_by_function["sandbox"] == address


async def test_tmp_is_the_environments_own_and_outlives_a_reset(tmp_path: Path) -> None:
    config = EmulatorConfig(runtime=AwsLambdaRic(FS_PROBE), memory_mb=1769, use_namespaces=True)
    async with Emulator(config) as emulator:
        await emulator.start()
        # GIVEN a function that wrote to /tmp, then crashed (a reset: new processes at the next invoke)
        await emulator.invoke(b'{"write_tmp": "kept"}')
        crashed = await emulator.invoke(b'{"crash": true}')
        # WHEN the next invoke runs in the re-initialised environment
        after = await emulator.invoke(b"{}")
        root = emulator.isolation.root
        assert emulator.isolation.namespace is not None
        shared_mounts = propagating_mounts(emulator.isolation.namespace.pid)
    # THEN /tmp kept what it had, as Lambda's reset does not clear /tmp, and the host's /tmp never had it
    assert crashed.error_type == "Runtime.ExitError" and after.init is not None and after.init.phase == "invoke"
    assert orjson.loads(after.response)["tmp"] == "kept"
    # and no mount of the environment could reach the host (none propagates: every one is private)
    assert shared_mounts == []
    # and nothing of the environment is left on the host: /tmp untouched, its folder, /var/task, any mount
    assert host_traces(root) == []


async def test_a_runtime_whose_python_lives_under_the_hosts_tmp_still_starts(tmp_path: Path) -> None:
    """A checkout in `mktemp -d` runs its runtimes with a Python under /tmp, which the private /tmp covers."""
    with tempfile.TemporaryDirectory(prefix="emulator-python-", dir="/tmp") as folder:
        # GIVEN a Python environment under the host's /tmp, not among the configured shared paths
        making = await asyncio.create_subprocess_exec(sys.executable, "-m", "venv", "--without-pip", folder)
        assert await making.wait() == 0
        runtime = SimulatedRuntime(python=f"{folder}/bin/python")
        config = EmulatorConfig(runtime=runtime, memory_mb=1769, use_namespaces=True)
        # WHEN the environment starts its runtime with it
        async with Emulator(config) as emulator:
            await emulator.start()
            record = await emulator.invoke(b"{}")
    # THEN the runtime started and answered
    assert record.status == "success"


def propagating_mounts(pid: int) -> list[str]:
    """The mounts of the process's mount namespace that propagate to a peer group (`shared:N`)."""
    table = Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
    assert table
    return [line for line in table if " shared:" in line]


def host_traces(root: Path) -> list[str]:
    """What an environment left on the host (nothing, if it cleaned up)."""
    traces = [str(path) for path in (Path("/tmp/fs-probe.txt"), root, Path("/var/task")) if path.exists()]
    return traces + [
        line for line in Path("/proc/self/mountinfo").read_text().splitlines() if "lambda-emulator-" in line
    ]


async def test_two_environments_at_once_listen_on_the_same_port_without_colliding(tmp_path: Path) -> None:
    # GIVEN two environments running the same extension, whose listener port is fixed (4243)
    layer = zip_layer(SAMPLE_LAYER, tmp_path / "sample.zip")
    config = EmulatorConfig(runtime=SimulatedRuntime(), layers=(layer,), memory_mb=1769, use_namespaces=True)
    async with Emulator(config) as one, Emulator(config) as other:
        # WHEN both initialise at the same time
        inits = await asyncio.gather(one.start(), other.start())
        addresses = {one.sandbox_address, other.sandbox_address}
        await asyncio.gather(one.shutdown(), other.shutdown())
    # THEN both listen, each on its own address
    assert [i.status for i in inits] == ["success", "success"] and len(addresses) == 2


def test_the_command_line_runs_a_published_layer_unmodified(tmp_path: Path) -> None:
    layer = zip_layer(SAMPLE_LAYER, tmp_path / "sample.zip")
    command = [sys.executable, "-m", "lambda_emulator", "run", "--layer", str(layer), "--invocations", "2",
               "--memory", "1769", "--json", str(tmp_path / "records.json")]  # fmt: skip
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    records = orjson.loads((tmp_path / "records.json").read_bytes())
    assert records["environment"]["namespace"] is True
    assert [i["status"] for i in records["invokes"]] == ["success", "success"]
    assert f"{SAMPLE}  launching extension\n" in records["output"][f"ext-{SAMPLE}-1"]
