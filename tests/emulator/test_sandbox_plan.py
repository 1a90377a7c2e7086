"""Which mechanism the sandbox picks per capability, for each cgroup layout (fake trees: unit tier)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambda_emulator.sandbox.cgroups.host import Via, choose, probe
from lambda_emulator.sandbox.figures import Limits
from lambda_emulator.sandbox.limits import SandboxUnavailable, create_sandbox
from tests.emulator.fake_cgroup import FakeCgroupFs

NEEDS = "a memory and a cpu controller (cgroup v1, or v2 with memory+cpu in cgroup.subtree_control) and root"


def test_a_pure_v1_host_gets_everything_from_v1(tmp_path: Path) -> None:
    # GIVEN memory, cpu, cpuacct and freezer mounted as v1 and no cgroup2 mount
    fs = FakeCgroupFs(tmp_path)
    fs.pure_v1()
    # WHEN the plan is chosen
    plan = choose(probe(tmp_path, fs))
    # THEN limits, freezer and figures come from v1
    assert (plan.memory, plan.cpu, plan.freezer, plan.cpu_time, plan.memory_peak) == (Via.V1,) * 5
    assert plan.v1_controllers() == ("memory", "cpu", "cpuacct", "freezer") and not plan.uses_v2
    assert plan.no_limits_line() is None


def test_a_pure_v2_host_gets_everything_from_v2(tmp_path: Path) -> None:
    fs = FakeCgroupFs(tmp_path)
    fs.pure_v2(enabled="")  # available in cgroup.controllers, not yet in cgroup.subtree_control
    plan = choose(probe(tmp_path, fs))
    assert (plan.memory, plan.cpu, plan.freezer, plan.cpu_time, plan.memory_peak) == (Via.V2,) * 5
    assert plan.v2_controllers() == ("memory", "cpu") and plan.v1_controllers() == ()


def test_a_hybrid_host_takes_limits_from_v1_and_the_freezer_from_v2(tmp_path: Path) -> None:
    # GIVEN this machine's layout: v1 controllers, cgroup2 at unified/ without controllers
    fs = FakeCgroupFs(tmp_path)
    unified = fs.hybrid()
    host = probe(tmp_path, fs)
    plan = choose(host)
    assert host.v2 == unified and host.v2_controllers == frozenset()
    assert (plan.memory, plan.cpu, plan.cpu_time, plan.memory_peak) == (Via.V1,) * 4
    assert plan.freezer is Via.V2 and plan.v1_controllers() == ("memory", "cpu", "cpuacct")


def test_the_real_host_is_described_in_one_line() -> None:
    plan = choose(probe())
    line = plan.describe()
    assert "\n" not in line and line.startswith("sandbox: memory cap ")


def test_without_controllers_the_plan_says_no_limits_in_one_line(tmp_path: Path) -> None:
    # GIVEN a pure v2 host whose cgroup2 mount offers no memory or cpu controller
    fs = FakeCgroupFs(tmp_path)
    fs.pure_v2(enabled="", available="pids")
    # WHEN a sandbox is created without requiring limits
    sandbox = create_sandbox(128, root=tmp_path, fs=fs)
    try:
        # THEN it freezes and counts CPU through cgroup v2, and says in one line that nothing limits
        plan = sandbox.plan
        assert (plan.memory, plan.cpu, plan.freezer, plan.cpu_time) == (Via.NONE, Via.NONE, Via.V2, Via.V2)
        line = plan.no_limits_line()
        assert line is not None and "\n" not in line
        assert "NO LIMITS (no memory cap, no CPU quota)" in line and NEEDS in line and str(tmp_path) in line
        assert sandbox.limits(freeze=True).enforced is False
    finally:
        sandbox.destroy()
    assert not list(tmp_path.glob("lambda-emulator-*"))


def test_requiring_limits_without_controllers_fails_naming_what_is_needed(tmp_path: Path) -> None:
    fs = FakeCgroupFs(tmp_path)
    fs.pure_v2(enabled="", available="pids io")
    with pytest.raises(SandboxUnavailable, match="needs a memory and a cpu controller") as raised:
        create_sandbox(128, use_cgroups=True, root=tmp_path, fs=fs)
    assert NEEDS in str(raised.value) and f"{tmp_path} has no cgroup v1 controller and cgroup v2 with io+pids" in str(
        raised.value
    )
    assert not list(tmp_path.glob("lambda-emulator-*"))


def test_a_host_without_any_cgroup_falls_back_to_sigstop_and_proc(tmp_path: Path) -> None:
    sandbox = create_sandbox(128, root=tmp_path)
    try:
        plan = sandbox.plan
        assert (plan.memory, plan.cpu, plan.freezer, plan.cpu_time, plan.memory_peak) == (
            Via.NONE, Via.NONE, Via.SIGSTOP, Via.PROC, Via.PROC,
        )  # fmt: skip
        assert sandbox.limits(freeze=False) == Limits("none", "none", "off", enforced=False)
    finally:
        sandbox.destroy()


def test_cgroups_off_means_no_limits_even_where_the_host_has_them() -> None:
    sandbox = create_sandbox(128, use_cgroups=False)
    assert not sandbox.plan.limits_enforced and sandbox.plan.notes == ("cgroups off (use_cgroups=False)",)
