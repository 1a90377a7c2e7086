"""What the sandbox measures and enforces, as values: a process's CPU time and peak memory, the mechanism behind
each of Lambda's limits, and the function's CPU share (memory/1769 of a core)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

MB_PER_VCPU: Final = 1769
"""AWS: at 1,769 MB a function has the equivalent of one vCPU ("Configure Lambda function memory")."""
_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


def function_vcpus(memory_mb: int) -> float:
    """The function's CPU share, in cores, during invokes (and throttled inits)."""
    return memory_mb / MB_PER_VCPU


@dataclass(frozen=True, slots=True)
class ProcessFigures:
    cpu_ms: float
    peak_rss_bytes: int


@dataclass(frozen=True, slots=True)
class Limits:
    """What enforced Lambda's limits while a record was measured: the mechanism per limit, or "none".

    `enforced` is false when the memory cap or the CPU quota was missing: such figures are "no limits" figures
    (durations and cold starts shorter, memory unbounded) and say nothing about Lambda at that memory size.
    """

    memory: str
    """The memory cap: "cgroup v1", "cgroup v2" or "none"."""
    cpu: str
    """The CPU quota (memory/1769 of a core): "cgroup v1", "cgroup v2" or "none"."""
    freeze: str
    """Between invokes: "cgroup v1", "cgroup v2", "SIGSTOP", or "off" (--no-freeze)."""
    enforced: bool


def proc_figures(pid: int) -> ProcessFigures:
    """A living process's CPU time and peak resident memory, from /proc (where no cgroup gives them)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    peak_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
    return ProcessFigures(cpu_ticks * 1000 / _CLOCK_TICKS, peak_kb * 1024)
