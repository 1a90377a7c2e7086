"""The sandbox on this host's real cgroups: the v2 freezer, group removal at exit and after a killed emulator.

Limits through cgroup v1 (memory cap, CPU quota) run for real in test_lifecycle.py and test_init_cpu.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_emulator.sandbox.cgroups.fs import CgroupFs
from lambda_emulator.sandbox.cgroups.host import Via, choose, probe
from lambda_emulator.sandbox.cgroups.stale import groups_of, remove_stale
from lambda_emulator.sandbox.limits import Sandbox, build_sandbox, create_sandbox

pytestmark = pytest.mark.integration
BUSY = [sys.executable, "-c", "while True: pass"]
CREATE_AND_WAIT = (
    "import sys, time; from lambda_emulator.sandbox.limits import create_sandbox; s = create_sandbox(128); "
    "print(s.plan.describe(), flush=True); time.sleep(float(sys.argv[1]))"
)


async def spin(sandbox: Sandbox) -> asyncio.subprocess.Process:
    """A process spinning on a core, inside the sandbox's groups from its first instruction."""
    busy = await asyncio.create_subprocess_exec(*BUSY, preexec_fn=sandbox.preexec("busy"), start_new_session=True)
    sandbox.adopt("busy", busy.pid)
    return busy


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, cwd=Path.cwd())


async def test_the_v2_freezer_stops_and_resumes_a_busy_process(cgroup2_freezer: None) -> None:
    # GIVEN a sandbox freezing through the cgroup2 hierarchy, with a process spinning on a core
    sandbox = create_sandbox(1769, use_cgroups=True)
    busy = await spin(sandbox)
    try:
        assert sandbox.plan.freezer is Via.V2
        (group,) = [g for g in groups_of(probe(), os.getpid()) if g.parent == probe().v2]
        # WHEN it is frozen THEN cgroup.events says so and the process gets no CPU
        await sandbox.freeze()
        assert "frozen 1" in (group / "cgroup.events").read_text()
        frozen_at = sandbox.figures("busy").cpu_ms
        await asyncio.sleep(0.3)  # an observation window, not a synchronisation
        assert sandbox.figures("busy").cpu_ms - frozen_at < 5
        # WHEN it is thawed THEN it runs again
        await sandbox.thaw()
        assert "frozen 0" in (group / "cgroup.events").read_text()
        thawed_at = sandbox.figures("busy").cpu_ms
        await asyncio.sleep(0.3)
        assert sandbox.figures("busy").cpu_ms - thawed_at > 50
    finally:
        busy.kill()
        await busy.wait()
        sandbox.destroy()
    assert groups_of(probe(), os.getpid()) == []


async def test_destroy_kills_a_process_still_inside_a_frozen_group(cgroup2_freezer: None) -> None:
    # GIVEN a frozen environment whose process was never stopped (an interrupted emulator)
    sandbox = create_sandbox(128, use_cgroups=True)
    busy = await spin(sandbox)
    await sandbox.freeze()
    # WHEN the sandbox is destroyed THEN the process is killed and every group removed
    sandbox.destroy()
    assert await asyncio.wait_for(busy.wait(), 5) == -signal.SIGKILL
    assert groups_of(probe(), os.getpid()) == []


async def test_on_a_pure_v1_host_the_v1_freezer_stops_a_process_and_destroy_still_kills_it() -> None:
    # GIVEN this host seen without its cgroup2 mount, as a pure v1 host (every capability through v1)
    host = probe().without(Via.V2)
    plan = choose(host)
    if plan.freezer is not Via.V1:
        pytest.fail(f"needs the cgroup v1 freezer, memory, cpu and cpuacct controllers; {host.describe()}")
    sandbox = build_sandbox(plan, host, 1769, CgroupFs())
    busy = await spin(sandbox)
    # WHEN it is frozen THEN the process gets no CPU
    await sandbox.freeze()
    frozen_at = sandbox.figures("busy").cpu_ms
    await asyncio.sleep(0.3)  # an observation window, not a synchronisation
    assert sandbox.figures("busy").cpu_ms - frozen_at < 5
    # WHEN the frozen sandbox is destroyed THEN it thaws, kills the process and removes every group
    sandbox.destroy()
    assert await asyncio.wait_for(busy.wait(), 5) == -signal.SIGKILL
    assert groups_of(probe(), os.getpid()) == []


def test_an_emulator_that_exits_without_closing_leaves_no_cgroup() -> None:
    # GIVEN an emulator process that creates a sandbox and exits without destroying it
    child = run_python(CREATE_AND_WAIT, "0")
    out, _ = child.communicate(timeout=30)
    # THEN atexit removed its groups
    assert child.returncode == 0 and out.startswith("sandbox: memory cap cgroup")
    assert groups_of(probe(), child.pid) == []


def test_the_next_emulator_removes_the_groups_of_a_killed_one() -> None:
    # GIVEN an emulator process killed with its sandbox open (no atexit)
    child = run_python(CREATE_AND_WAIT, "60")
    assert child.stdout is not None and child.stdout.readline().startswith("sandbox:")
    host = probe()
    left = groups_of(host, child.pid)
    assert left, "the child owns groups while it lives"
    remove_stale(host, CgroupFs())
    assert groups_of(host, child.pid) == left  # a live owner's groups stay
    child.kill()
    child.wait()
    assert groups_of(host, child.pid) == left  # SIGKILL: no atexit
    # WHEN stale groups are removed (as the next emulator does at start) THEN its groups are gone, ours stay
    ours = create_sandbox(128)
    try:
        removed = remove_stale(host, CgroupFs())
        assert set(left) <= set(removed)
        assert groups_of(host, child.pid) == [] and groups_of(host, os.getpid())
    finally:
        ours.destroy()
