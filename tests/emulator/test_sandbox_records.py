"""Every init, invoke and shutdown record says what enforced the limits ("no limits" when nothing did)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.sandbox.figures import Limits
from lambda_emulator.state.measurements import to_json
from lambda_emulator.state.runtimes import SimulatedRuntime

pytestmark = pytest.mark.integration


async def test_records_carry_the_limits_that_were_enforced() -> None:
    # GIVEN an environment with limits required (this host: cgroup v1 limits, cgroup v2 freezer)
    async with Emulator(EmulatorConfig(runtime=SimulatedRuntime(), use_cgroups=True)) as emulator:
        plan = emulator.sandbox.plan
        # WHEN it runs init, an invoke and a shutdown
        init = await emulator.start()
        invoke = await emulator.invoke()
        shutdown = await emulator.shutdown()
    # THEN each record names the mechanisms and says the limits were enforced
    expected = Limits(str(plan.memory), str(plan.cpu), str(plan.freezer), enforced=True)
    assert init.limits == invoke.limits == shutdown.limits == expected
    assert to_json(invoke)["limits"] == {
        "memory": str(plan.memory), "cpu": str(plan.cpu), "freeze": str(plan.freezer), "enforced": True,
    }  # fmt: skip


async def test_without_cgroups_every_record_says_no_limits(tmp_path: Path) -> None:
    # GIVEN a host without any cgroup (an empty cgroup root) and no freezing
    config = EmulatorConfig(runtime=SimulatedRuntime(), freeze=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAMBDA_EMULATOR_CGROUP_ROOT", str(tmp_path))
        async with Emulator(config) as emulator:
            init = await emulator.start()
            invoke = await emulator.invoke()
            shutdown = await emulator.shutdown()
    # THEN every record is marked "no limits"
    bare = Limits("none", "none", "off", enforced=False)
    assert init.limits == invoke.limits == shutdown.limits == bare


def test_the_command_line_says_no_limits_in_one_line(tmp_path: Path) -> None:
    # GIVEN a host without cgroups WHEN the emulator runs from the command line
    env = {**os.environ, "LAMBDA_EMULATOR_CGROUP_ROOT": str(tmp_path)}
    command = [sys.executable, "-m", "lambda_emulator", "run", "--invocations", "1", "--json", str(tmp_path / "r.json")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    # THEN it exits 0, says so in exactly one line (no traceback), and its summary says "NO LIMITS"
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if "NO LIMITS" in line]
    assert len(notices) == 1 and "Traceback" not in result.stderr
    assert (
        "Limits need a memory and a cpu controller (cgroup v1, or v2 with memory+cpu in cgroup.subtree_control)"
        in (notices[0])
    )
    assert "NO LIMITS: memory none, CPU none, freeze SIGSTOP" in result.stdout
    assert '"enforced": false' in (tmp_path / "r.json").read_text()
