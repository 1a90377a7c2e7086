"""When data moves: pure decisions. No I/O; the clock is a parameter (monotonic seconds).

A flush is due when a batch waits for a retry, when the oldest buffered event has waited `interval`, or when
the buffer holds a full batch or passes its high-water mark (half of either ring bound). The lifecycle asks on
every input: an INVOKE, a telemetry POST (the environment is running then, so a full batch is written in the
background, even in the middle of a long invoke), the age timer, and SHUTDOWN. A flush never holds the
function up: on INVOKE the extension calls /next at once unless `budget` says to wait for S3.

SHUTDOWN: Lambda keeps delivering telemetry after SHUTDOWN (the last invoke's `platform.report`, the end of
init when no invoke came, other extensions' last lines). The extension keeps listening until the stream has
been quiet for `quiet` (and the events it expects have come, for at most `grace`), leaving `reserve` for the
last write, and exits `margin` before the deadline. Everything buffered is due at SHUTDOWN, and what comes
later: it is written while the extension listens (the PUTs overlap the quiet window). While Lambda's last report
is still expected, the first write waits for it, for at most `hold` (half the quiet window): it comes within
~40 ms of SHUTDOWN, and then one PUT takes what two would.
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from typing import Final

DRAIN_RESERVE_S = 0.4
"""Time kept for the last write at SHUTDOWN: a few PUTs at S3's usual latency, and a retry."""


class FlushPolicy(Record):
    def __init__(
        self,
        *,
        interval_s: float,
        budget_s: float,
        batch_max_bytes: int,
        high_water_events: int,
        high_water_bytes: int,
        shutdown_grace_s: float,
        shutdown_quiet_s: float,
        shutdown_margin_s: float,
    ) -> None:
        self.interval_s = interval_s
        self.budget_s = budget_s
        self.batch_max_bytes = batch_max_bytes
        self.high_water_events = high_water_events
        self.high_water_bytes = high_water_bytes
        self.shutdown_grace_s = shutdown_grace_s
        self.shutdown_quiet_s = shutdown_quiet_s
        self.shutdown_margin_s = shutdown_margin_s


class BufferState(Record):
    """What the policy needs to know of the pipeline at one moment."""

    def __init__(
        self, buffered_events: int, buffered_bytes: int, oldest_arrival: float | None, pending_batches: int
    ) -> None:
        self.buffered_events = buffered_events
        self.buffered_bytes = buffered_bytes
        self.oldest_arrival = oldest_arrival
        self.pending_batches = pending_batches


class FlushReason:
    """Why a flush is due: one of these strings, each one object (compared with `is`). Not an Enum: importing enum
    is start-up cost."""

    NOTHING_DUE: Final = "nothing due"
    RETRY: Final = "a batch waits for a retry"
    AGE: Final = "oldest event reached the flush interval"
    SIZE: Final = "a full batch is buffered"
    HIGH_WATER: Final = "the buffer passed its high-water mark"
    SHUTDOWN: Final = "the environment shuts down"


def due(policy: FlushPolicy, state: BufferState, now: float, *, shutting_down: bool = False) -> str:
    if state.pending_batches:
        return FlushReason.RETRY
    if state.buffered_events == 0 or state.oldest_arrival is None:
        return FlushReason.NOTHING_DUE
    if shutting_down:
        return FlushReason.SHUTDOWN
    full = buffer_full(policy, state)
    if full is not None:
        return full
    if now - state.oldest_arrival >= policy.interval_s:
        return FlushReason.AGE
    return FlushReason.NOTHING_DUE


def buffer_full(policy: FlushPolicy, state: BufferState) -> str | None:
    """SIZE or HIGH_WATER when the buffer must be emptied now, whatever else is under way: the lifecycle cuts it
    into pending batches as the POST that filled it comes (a write under way takes them after its own), so a
    burst never reaches the ring's bound (the emulator sent a 25,000-line burst as 1,000-event POSTs about a
    millisecond apart: the ring overflowed within the 10 ms a flush decision waits)."""
    if state.buffered_bytes >= policy.batch_max_bytes:
        return FlushReason.SIZE
    if state.buffered_events >= policy.high_water_events or state.buffered_bytes >= policy.high_water_bytes:
        return FlushReason.HIGH_WATER
    return None


def next_age_due(policy: FlushPolicy, state: BufferState) -> float | None:
    """When the oldest buffered event reaches the interval (the age timer's moment), or None if nothing waits."""
    return None if state.oldest_arrival is None else state.oldest_arrival + policy.interval_s


def invoke_wait(policy: FlushPolicy, until_deadline_s: float) -> float:
    """How long to wait on a flush before /next: the budget, never past the function's deadline less a margin."""
    return max(0.0, min(policy.budget_s, until_deadline_s - policy.shutdown_margin_s))


class ShutdownPlan(Record):
    def __init__(self, exit_at: float, listen_until: float, expect_until: float, hold_until: float) -> None:
        self.exit_at = exit_at
        """Monotonic time to be gone by: the deadline less the margin."""
        self.listen_until = listen_until
        """The latest moment to stop listening, so that the last write still has its reserve."""
        self.expect_until = expect_until
        """How long to wait for events still expected (the last report, the end of init), whatever the quiet."""
        self.hold_until = hold_until
        """While the last report is expected, the first write waits for it until then."""


def shutdown_plan(policy: FlushPolicy, now: float, until_deadline_s: float) -> ShutdownPlan:
    exit_at = now + max(0.0, until_deadline_s - policy.shutdown_margin_s)
    listen_until = max(now, exit_at - DRAIN_RESERVE_S)
    expect_until = min(listen_until, now + policy.shutdown_grace_s)
    return ShutdownPlan(exit_at, listen_until, expect_until, min(expect_until, now + policy.shutdown_quiet_s / 2))


def holding_for_report(plan: ShutdownPlan, now: float, *, expecting: bool) -> bool:
    """At SHUTDOWN, does the first write still wait for the last report?"""
    return expecting and now < plan.hold_until


def done_listening(
    policy: FlushPolicy, plan: ShutdownPlan, now: float, last_activity: float, *, expecting: bool, in_flight: int
) -> bool:
    """Stop listening at SHUTDOWN? When out of time; else when nothing is under way, nothing is expected
    (or waiting for it took `grace`), and no telemetry came for `quiet`."""
    if now >= plan.listen_until:
        return True
    if in_flight or (expecting and now < plan.expect_until):
        return False
    return now - last_activity >= policy.shutdown_quiet_s


def quiet_check_at(policy: FlushPolicy, plan: ShutdownPlan, now: float, last_activity: float) -> float:
    """When `done_listening` may next change its answer if nothing arrives meanwhile."""
    moments = [plan.listen_until, last_activity + policy.shutdown_quiet_s]
    if now < plan.expect_until:
        moments.append(plan.expect_until)
    return max(now, min(moments))
