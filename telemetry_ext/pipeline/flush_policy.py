"""When data moves: pure decisions taken on each lifecycle event. No I/O; the clock is a parameter.

- INVOKE: flush when a batch is waiting for a retry, when the oldest buffered event has waited
  `interval`, or when a full batch is buffered. The flush runs concurrently with the function; the extension
  waits for it at most `budget` (and never past the function's deadline less a margin) before calling /next,
  so S3 never holds the function up for longer than that. What is not written stays for the next chance.
- SHUTDOWN: give Lambda up to `grace` to deliver the last `platform.report` (it is produced only after every
  extension has called /next, so it arrives after the thaw), then drain everything, exiting `margin`
  before the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class FlushPolicy:
    interval_s: float
    budget_s: float
    batch_max_bytes: int
    shutdown_grace_s: float
    shutdown_margin_s: float


@dataclass(frozen=True, slots=True)
class BufferState:
    """What the policy needs to know of the pipeline at one moment."""

    buffered_events: int
    buffered_bytes: int
    oldest_arrival: float | None
    pending_batches: int


class FlushReason(Enum):
    NOTHING_DUE = "nothing due"
    RETRY = "a batch waits for a retry"
    AGE = "oldest event reached the flush interval"
    SIZE = "a full batch is buffered"


@dataclass(frozen=True, slots=True)
class FlushDecision:
    reason: FlushReason
    wait_s: float
    """How long the lifecycle may wait for the flush before it calls /next."""

    @property
    def flush(self) -> bool:
        return self.reason is not FlushReason.NOTHING_DUE


@dataclass(frozen=True, slots=True)
class ShutdownPlan:
    grace_s: float
    """How long to wait for the last `platform.report` before draining."""
    drain_s: float
    """Time left for writing once the grace period is over; exit when it is spent."""


def on_invoke(policy: FlushPolicy, state: BufferState, now: float, until_deadline_s: float) -> FlushDecision:
    """`now` is monotonic seconds (the clock of `oldest_arrival`); `until_deadline_s` is the function's time
    left as given by the INVOKE event's `deadlineMs`."""
    wait = max(0.0, min(policy.budget_s, until_deadline_s - policy.shutdown_margin_s))
    return FlushDecision(_reason(policy, state, now), wait)


def _reason(policy: FlushPolicy, state: BufferState, now: float) -> FlushReason:
    if state.pending_batches:
        return FlushReason.RETRY
    if state.buffered_events == 0 or state.oldest_arrival is None:
        return FlushReason.NOTHING_DUE
    if now - state.oldest_arrival >= policy.interval_s:
        return FlushReason.AGE
    if state.buffered_bytes >= policy.batch_max_bytes:
        return FlushReason.SIZE
    return FlushReason.NOTHING_DUE


def on_shutdown(policy: FlushPolicy, until_deadline_s: float, awaiting_report: bool) -> ShutdownPlan:
    """Split the time before the deadline (less the margin) into the report grace and the drain. The grace
    never takes more than half of what is left, so the drain always gets time."""
    available = max(0.0, until_deadline_s - policy.shutdown_margin_s)
    grace = min(policy.shutdown_grace_s, available / 2) if awaiting_report else 0.0
    return ShutdownPlan(grace_s=grace, drain_s=available - grace)
