"""The sandbox on a pure cgroup v2 host with its controllers (a fake tree in the kernel's formats: unit tier).

This machine's cgroup2 mount has no memory or cpu controller, so limits and figures through v2 are checked here
against `FakeCgroupFs`; freezing through v2 runs for real in test_sandbox_real.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lambda_emulator.sandbox.cgroups.fs import CgroupError
from lambda_emulator.sandbox.cgroups.host import Via
from lambda_emulator.sandbox.limits import Sandbox, SandboxUnavailable, create_sandbox
from tests.emulator.fake_cgroup import FakeCgroupFs

MB = 1024 * 1024


def v2_host(tmp_path: Path, **options: bool) -> FakeCgroupFs:
    fs = FakeCgroupFs(tmp_path, **options)
    fs.pure_v2(enabled="pids")  # memory and cpu available, not yet enabled for the children
    return fs


def the_group(tmp_path: Path) -> Path:
    (group,) = tmp_path.glob("lambda-emulator-*")
    return group


def read(path: Path) -> str:
    return path.read_text().strip()


def test_limits_are_written_in_the_kernels_formats(tmp_path: Path) -> None:
    # GIVEN a pure v2 host WHEN a 128 MB sandbox is created
    fs = v2_host(tmp_path)
    sandbox = create_sandbox(128, root=tmp_path, fs=fs)
    group = the_group(tmp_path)
    # THEN the controllers are enabled from the mount down (memory again for the per-process leaves)
    assert set(read(tmp_path / "cgroup.subtree_control").split()) == {"cpu", "memory", "pids"}
    assert read(group / "cgroup.subtree_control") == "memory"
    # AND memory.max is the cap in bytes, no swap, and cpu.max is "$MAX $PERIOD" for 128/1769 of a core
    assert read(group / "memory.max") == str(128 * MB) and read(group / "memory.swap.max") == "0"
    assert read(group / "cpu.max") == "7236 100000"
    assert sandbox.limits(freeze=True).enforced and sandbox.plan.describe() == (
        "sandbox: memory cap cgroup v2, CPU quota cgroup v2, freezer cgroup v2, CPU time cgroup v2, "
        "peak memory cgroup v2"
    )
    sandbox.destroy()


def test_the_cpu_quota_switches_between_init_and_invokes(tmp_path: Path) -> None:
    sandbox = create_sandbox(128, root=tmp_path, fs=v2_host(tmp_path))
    group = the_group(tmp_path)
    sandbox.set_cpu(1.0)  # a boosted init: one vCPU
    assert read(group / "cpu.max") == "100000 100000"
    sandbox.set_cpu(2.0)
    assert read(group / "cpu.max") == "200000 100000"
    sandbox.set_cpu(None)
    assert read(group / "cpu.max") == "max 100000"
    sandbox.set_cpu(128 / 1769)
    assert read(group / "cpu.max") == "7236 100000"
    sandbox.destroy()


def test_each_process_joins_its_own_leaf(tmp_path: Path) -> None:
    # GIVEN a sandbox WHEN a process is about to start
    fs = v2_host(tmp_path)
    sandbox = create_sandbox(128, root=tmp_path, fs=fs)
    join = sandbox.preexec("runtime-1")
    group = the_group(tmp_path)
    # THEN its leaf exists, with the memory controller, and the child writes its pid to the leaf's cgroup.procs
    assert join is not None and read(group / "runtime-1" / "cgroup.controllers") == "memory"
    fs.write(group / "runtime-1" / "cgroup.procs", "4242")  # what join() does in the child
    assert read(group / "runtime-1" / "cgroup.procs") == "4242"
    assert "populated 1" in (group / "cgroup.events").read_text()
    # AND the group itself may hold no process ("no internal processes")
    with pytest.raises(CgroupError, match="only in leaf groups"):
        fs.write(group / "cgroup.procs", "4243")
    sandbox.destroy()


def test_figures_come_from_each_leaf_and_the_group(tmp_path: Path) -> None:
    # GIVEN two processes that used CPU and memory, one of them OOM-killed
    fs = v2_host(tmp_path)
    sandbox = create_sandbox(128, root=tmp_path, fs=fs)
    for name in ("ext-a-1", "runtime-1"):
        sandbox.preexec(name)
    group = the_group(tmp_path)
    assert sandbox.oom_kills() == 0
    fs.charge(group / "ext-a-1", cpu_usec=12_345, peak=20 * MB)
    fs.charge(group / "runtime-1", cpu_usec=80_000, peak=100 * MB, oom_kills=1)
    # WHEN the figures are read THEN cpu.stat usage_usec, memory.peak and memory.events oom_kill are used
    extension = sandbox.figures("ext-a-1")
    assert (extension.cpu_ms, extension.peak_rss_bytes) == (12.345, 20 * MB)
    assert sandbox.figures("runtime-1").cpu_ms == 80.0
    assert sandbox.max_memory_bytes() == 100 * MB
    assert sandbox.oom_kills() == 1
    sandbox.destroy()


def test_oom_kills_count_once_whether_memory_events_is_hierarchical_or_local(tmp_path: Path) -> None:
    # GIVEN a host mounted with memory_localevents: the group's memory.events does not count its leaves
    fs = v2_host(tmp_path)
    sandbox = create_sandbox(128, root=tmp_path, fs=fs)
    sandbox.preexec("runtime-1")
    leaf = the_group(tmp_path) / "runtime-1"
    (leaf / "memory.events").write_text((leaf / "memory.events").read_text().replace("oom_kill 0", "oom_kill 1"))
    assert sandbox.oom_kills() == 1
    sandbox.destroy()


async def test_freezing_writes_cgroup_freeze_and_waits_for_cgroup_events(tmp_path: Path) -> None:
    fs = v2_host(tmp_path)
    sandbox = create_sandbox(128, root=tmp_path, fs=fs)
    group = the_group(tmp_path)
    await sandbox.freeze()
    assert read(group / "cgroup.freeze") == "1" and "frozen 1" in (group / "cgroup.events").read_text()
    assert sandbox.frozen
    await sandbox.thaw()
    assert read(group / "cgroup.freeze") == "0" and "frozen 0" in (group / "cgroup.events").read_text()
    sandbox.destroy()


def test_destroy_kills_what_is_left_and_removes_every_group(tmp_path: Path) -> None:
    # GIVEN a sandbox whose process is still inside (the emulator was interrupted)
    fs = v2_host(tmp_path)
    sandbox = create_sandbox(128, root=tmp_path, fs=fs)
    sandbox.preexec("runtime-1")
    fs.write(the_group(tmp_path) / "runtime-1" / "cgroup.procs", "4242")
    # WHEN it is destroyed THEN cgroup.kill empties it and nothing is left
    sandbox.destroy()
    assert any(path.name == "cgroup.kill" for path, _ in fs.writes)
    assert not list(tmp_path.glob("lambda-emulator-*"))
    sandbox.destroy()  # idempotent


def test_a_kernel_without_memory_peak_falls_back_to_proc_and_says_so(tmp_path: Path) -> None:
    # GIVEN a v2 kernel older than 5.19 (no memory.peak)
    sandbox = create_sandbox(128, root=tmp_path, fs=v2_host(tmp_path, memory_peak=False))
    # THEN the cap still holds, peaks come from /proc VmHWM, and the plan says why
    assert sandbox.plan.memory is Via.V2 and sandbox.plan.memory_peak is Via.PROC
    assert any("memory.peak missing (kernel < 5.19)" in note for note in sandbox.plan.notes)
    sandbox.preexec("me")
    sandbox.adopt("me", os.getpid())
    assert sandbox.figures("me").peak_rss_bytes > 1 * MB  # this test process's own VmHWM
    sandbox.destroy()


async def test_a_kernel_without_cgroup_freeze_freezes_with_sigstop(tmp_path: Path) -> None:
    sandbox = create_sandbox(128, root=tmp_path, fs=v2_host(tmp_path, freeze=False))
    assert sandbox.plan.freezer is Via.SIGSTOP
    assert any("cgroup.freeze missing (kernel < 5.2)" in note for note in sandbox.plan.notes)
    sandbox.destroy()


def test_a_refused_write_becomes_a_clear_message_and_no_limits(tmp_path: Path) -> None:
    # GIVEN a host where writing memory.max is refused (not root, or a read-only mount)
    fs = v2_host(tmp_path)
    fs.denied.add("memory.max")
    # WHEN limits are required THEN the error names the file and what is needed, not a PermissionError
    with pytest.raises(SandboxUnavailable) as raised:
        create_sandbox(128, use_cgroups=True, root=tmp_path, fs=fs)
    message = str(raised.value)
    assert f"cannot write '134217728' to {tmp_path}" in message and "memory.max: Permission denied" in message
    assert "cgroup limits need root (or write access to a delegated cgroup)" in message
    # AND without the requirement the emulator runs without limits and says why in one line
    sandbox = create_sandbox(128, root=tmp_path, fs=fs)
    line = sandbox.plan.no_limits_line()
    assert line is not None and "Permission denied" in line and "\n" not in line
    assert not sandbox.limits(freeze=True).enforced
    sandbox.destroy()
    assert not list(tmp_path.glob("lambda-emulator-*"))


def test_a_container_group_with_processes_cannot_enable_controllers(tmp_path: Path) -> None:
    # GIVEN cgroup2 mounted in a container: its top group holds the container's processes
    fs = FakeCgroupFs(tmp_path, mount_is_root=False)
    fs.pure_v2(enabled="")
    with pytest.raises(SandboxUnavailable, match="enables a controller only for a group without processes"):
        create_sandbox(128, use_cgroups=True, root=tmp_path, fs=fs)


def test_a_pure_v1_host_writes_v1_files(tmp_path: Path) -> None:
    fs = FakeCgroupFs(tmp_path)
    fs.pure_v1()
    sandbox: Sandbox = create_sandbox(128, root=tmp_path, fs=fs)
    sandbox.preexec("runtime-1")
    (memory,) = (tmp_path / "memory").glob("lambda-emulator-*")
    (cpu,) = (tmp_path / "cpu").glob("lambda-emulator-*")
    assert read(memory / "memory.limit_in_bytes") == read(memory / "memory.memsw.limit_in_bytes") == str(128 * MB)
    assert (read(cpu / "cpu.cfs_period_us"), read(cpu / "cpu.cfs_quota_us")) == ("100000", "7236")
    assert (memory / "runtime-1").is_dir() and (tmp_path / "cpuacct" / memory.name / "runtime-1").is_dir()
    sandbox.set_cpu(None)
    assert read(cpu / "cpu.cfs_quota_us") == "-1"
    sandbox.destroy()
    assert not list(tmp_path.glob("*/lambda-emulator-*"))
