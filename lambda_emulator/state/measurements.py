"""What CloudWatch would show, per init, invoke and shutdown, plus per-process figures CloudWatch lacks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lambda_emulator.sandbox.figures import Limits
from lambda_emulator.state.credentials import CredentialsRequest


@dataclass(frozen=True, slots=True)
class InitCpu:
    """The CPU an init ran with (state/init_cpu.py)."""

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
    error_message: str | None = None
    """A failed init: one line naming the process and its error (state/failures.py)."""
    output: dict[str, list[str]] = field(default_factory=dict)
    """A failed init: each process's last lines of output (bounded)."""


@dataclass(slots=True)
class RestoreRecord:
    """One SnapStart restore: platform.restoreStart to platform.restoreReport."""

    number: int
    status: str
    duration_ms: float
    """restoreReport durationMs: the thaw, the runtime's after-restore hooks, until its /next."""
    gap_s: float
    """Wall-clock time the environment spent frozen since the snapshot (or since the last restore)."""
    runtime_hooks: bool
    """The runtime was waiting on GET /runtime/restore/next and was released by this restore."""
    connections_cut: int
    connections_kept: int
    error_type: str | None = None
    processes: dict[str, ProcessRecord] = field(default_factory=dict)


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
    restore: RestoreRecord | None = None
    """SnapStart: the restore this invoke was the first after (its report carries restoreDurationMs)."""
    started_at: float = 0.0
    ended_at: float = 0.0
    """Monotonic seconds: the event released, and the invoke done (LMI: response sent), to measure overlap."""
    error_message: str | None = None
    """A crash, timeout or failed init: one line naming the process and its error (state/failures.py)."""
    output: dict[str, list[str]] = field(default_factory=dict)
    """After a crash or timeout: each process's last lines of output (bounded)."""


@dataclass(slots=True)
class ExtensionExit:
    exit_code: int | None
    exited_in_time: bool
    cpu_ms: float
    peak_rss_mb: float
    shutdown_ms: float | None = None
    """From the SHUTDOWN event sent to the process's exit (None: killed at the deadline)."""


@dataclass(slots=True)
class ShutdownRecord:
    reason: str
    duration_ms: float
    """The whole phase: the runtime's SIGTERM window, the extensions' SHUTDOWN, the last telemetry delivered."""
    deadline_ms: int
    extensions: dict[str, ExtensionExit] = field(default_factory=dict)
    limits: Limits | None = None
    runtime_ms: float = 0.0
    """From SIGTERM to the runtime's exit (before SHUTDOWN is sent to extensions, as RIE does)."""


def to_json(record: Any) -> dict[str, Any]:
    data: dict[str, Any] = asdict(record)
    data.pop("response", None)
    return data


@dataclass
class SessionResult:
    init: InitRecord
    invokes: list[InvokeRecord]
    shutdown: ShutdownRecord
    extension_output: dict[str, list[str]] = field(default_factory=dict)
    """Each process's last lines of output (the last environment's extensions and runtime; bounded)."""
    mode: str = "on-demand"
    restores: list[RestoreRecord] = field(default_factory=list)
    concurrency: int = 1
    peak_in_flight: int = 1
    wall_s: float = 0.0
    """Wall-clock seconds of the invokes (LMI: for the throughput)."""
    credentials_requests: list[CredentialsRequest] = field(default_factory=list)
    inits: list[InitRecord] = field(default_factory=list)
    """Every init, in order: the first, and each re-init after a failure or a reset."""
    environment: dict[str, Any] = field(default_factory=dict)
    """The environment's file system and names (sandbox/isolation.py `describe`)."""
    runtime_output: dict[str, list[str]] = field(default_factory=dict)
    """The last runtime process's last lines of output (bounded)."""

    @property
    def failed_inits(self) -> list[InitRecord]:
        return [init for init in self.inits if init.status != "success"]

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "environment": self.environment,
            "inits": [to_json(i) for i in self.inits],
            "init": to_json(self.init),
            "restores": [to_json(r) for r in self.restores],
            "invokes": [to_json(i) for i in self.invokes],
            "shutdown": to_json(self.shutdown),
            "concurrency": self.concurrency,
            "peak_in_flight": self.peak_in_flight,
            "invokes_wall_s": round(self.wall_s, 3),
            "credentials_requests": [to_json(r) for r in self.credentials_requests],
            "output": {**self.extension_output, **self.runtime_output},
        }
