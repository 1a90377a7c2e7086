"""What CloudWatch would show, per init, invoke and shutdown, plus per-process figures CloudWatch lacks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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


@dataclass(frozen=True, slots=True)
class InitCpu:
    """The CPU an init ran with (lambda_emulator/init_cpu.py)."""

    policy: str
    """"boosted" (on-demand init) or "throttled" (provisioned concurrency, re-init after a reset)."""
    vcpus: float
    """The CPU quota during this init, in cores; the function's own quota (memory/1769) applies after it."""


@dataclass(slots=True)
class ProcessRecord:
    cpu_ms: float
    peak_rss_mb: float


@dataclass(slots=True)
class InitRecord:
    phase: str
    status: str
    duration_ms: float
    extensions_ready_ms: dict[str, float] = field(default_factory=dict)
    """Per extension: init start to its first /next (its share of init)."""
    runtime_ready_ms: float | None = None
    error_type: str | None = None
    processes: dict[str, ProcessRecord] = field(default_factory=dict)
    """Each process's CPU time and peak memory when init ended."""
    cpu: InitCpu | None = None
    limits: Limits | None = None


@dataclass(slots=True)
class InvokeRecord:
    request_id: str
    status: str
    duration_ms: float
    runtime_duration_ms: float
    post_runtime_extensions_ms: float
    billed_duration_ms: int
    max_memory_used_mb: int
    error_type: str | None = None
    init: InitRecord | None = None
    processes: dict[str, ProcessRecord] = field(default_factory=dict)
    response: bytes = b""
    limits: Limits | None = None


@dataclass(slots=True)
class ExtensionExit:
    exit_code: int | None
    exited_in_time: bool
    cpu_ms: float
    peak_rss_mb: float


@dataclass(slots=True)
class ShutdownRecord:
    reason: str
    duration_ms: float
    deadline_ms: int
    extensions: dict[str, ExtensionExit] = field(default_factory=dict)
    limits: Limits | None = None


def to_json(record: Any) -> dict[str, Any]:
    data: dict[str, Any] = asdict(record)
    data.pop("response", None)
    return data
