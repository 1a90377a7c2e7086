"""Lifecycle: decides when data moves, from every input the extension gets, in every kind of environment.

Inputs, one pipeline: a telemetry POST (`deliver`), time (`on_time`, at the moment `next_wake` asked for), INVOKE,
SHUTDOWN, and a SnapStart restore. It never waits: the event loop (`loop.py`) calls it, and the writer's thread
does the PUTs.
- `deliver`: keep the events; a full batch or the high-water mark is cut into pending batches at once (a burst
  must not reach the ring's bound while a write is decided or under way), and a flush that is now due is
  decided a moment later (below).
- Time: write when the oldest event has waited the flush interval, or a pause after a failure is over. On Lambda
  Managed Instances, which send no INVOKE and never freeze, this and `deliver` are what write; elsewhere a
  moment that passed while the environment was frozen comes at the thaw.
- INVOKE: /next goes out at once, then what is due is written, in the background: the function never waits on
  S3, and no work of ours delays the /next call. A flush that comes due without an INVOKE (a POST, the age of the
  oldest event) is decided `BACKGROUND_DEFER_S` later: at a thaw, the INVOKE that comes with it goes first. With
  `budget` > 0 the flush starts first and /next waits for it that long.
- SHUTDOWN: write what is buffered, and what comes, as it comes (once the last report, which Lambda delivers
  just after SHUTDOWN, has come or half the quiet window has passed: one PUT instead of two); keep listening
  until the stream is quiet and the events still expected have come (`done_listening`); the composition root
  then stops the listener, drains, and prints the summary.
- A SnapStart restore (a `platform.restoreStart` event, or the first /next when no platform events are
  subscribed): every restored copy of the snapshot holds the same memory. Events held before the restore are
  cut under the snapshot's instance id, written create-only (one copy writes them, the others find them there);
  then a fresh instance id, fresh connections and fresh credentials. Nothing is written before that point.
"""

from __future__ import annotations

import os
import time

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.pipeline import flush_policy

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final, Protocol

    from telemetry_ext.config import Config
    from telemetry_ext.events import DecodedBatch
    from telemetry_ext.lambda_api import Invoke, Shutdown
    from telemetry_ext.pipeline.batcher import Batcher
    from telemetry_ext.pipeline.flusher import Flusher

    class Clock(Protocol):
        def monotonic(self) -> float: ...
        def wall(self) -> float: ...

    class Writer(Protocol):
        """The writer's thread, as the lifecycle starts it and tells it of a restore."""

        def start(self) -> None: ...
        def after_restore(self) -> None: ...


INIT_REPORT: Final = "platform.initReport"
RESTORE_REPORT: Final = "platform.restoreReport"
BACKGROUND_DEFER_S: Final = 0.01
"""A flush that comes due without an INVOKE in hand waits this long: at a thaw, the POSTs and the INVOKE arrive
together, and no work of ours may go before the INVOKE's /next (measured: a flush started there, with the TLS
context's first build, held /next 57 ms at 128 MB)."""
RESTORE_EVENT_WAIT_S: Final = 1.0
"""SnapStart: how long after the first INVOKE a restore event may take before the INVOKE marks the restore."""


class SystemClock:
    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


def new_instance_id() -> str:
    """Random from the kernel at each call (never from a seeded generator a snapshot would copy)."""
    return os.urandom(8).hex()


def policy_from(config: Config) -> flush_policy.FlushPolicy:
    return flush_policy.FlushPolicy(
        interval_s=config.flush_interval_ms / 1000,
        budget_s=config.flush_budget_ms / 1000,
        batch_max_bytes=config.batch_max_bytes,
        high_water_events=max(1, config.ring_max_events // 2),
        high_water_bytes=max(1, config.ring_max_bytes // 2),
        shutdown_grace_s=config.shutdown_grace_ms / 1000,
        # Lambda sends what it buffered within timeoutMs: a quiet window shorter than two of those proves nothing.
        shutdown_quiet_s=max(config.shutdown_quiet_ms, 2 * config.buffer_timeout_ms) / 1000,
        shutdown_margin_s=config.shutdown_margin_ms / 1000,
    )


class Lifecycle:
    def __init__(
        self,
        config: Config,
        batcher: Batcher,
        flusher: Flusher,
        writer: Writer,
        clock: Clock,
        *,
        send_next: Callable[[], None],
        in_flight: Callable[[], int],
    ) -> None:
        self._policy = policy_from(config)
        self._batcher = batcher
        self._flusher = flusher
        self._writer = writer
        self._clock = clock
        self._send_next = send_next
        self._in_flight = in_flight
        self._platform = "platform" in config.types
        self._held = config.lambda_env.mode == "snap-start"
        """SnapStart: nothing is written before the first restore."""
        self._expected: set[str] = {INIT_REPORT} if self._platform else set()
        self._last_request: str | None = None
        self._last_report_seen = False
        self._last_activity = clock.monotonic()
        self._decide_at: float | None = None
        """A flush came due without an INVOKE in hand: it starts then (BACKGROUND_DEFER_S)."""
        self._next_at: float | None = None
        """FLUSH_BUDGET_MS: /next goes out when the flush is done, or then at the latest."""
        self._restore_at: float | None = None
        self._writer_started = False
        self._listening = False
        self._wake_at: float | None = None
        """The next moment to decide something without I/O, worked out again after every input (`_replan`)."""
        self.shutdown: flush_policy.ShutdownPlan | None = None
        """From SHUTDOWN on: everything buffered is due (once the last report came, or its wait is over)."""
        self._identity_since = clock.wall()
        """When the instance id in use was drawn: a restored copy's memory holds the snapshot's, in every copy."""
        self.restores = 0

    # -- telemetry -------------------------------------------------------------------------------------------
    def deliver(self, decoded: DecodedBatch) -> None:
        """The listener's callback, for every POST."""
        now = self._last_activity = self._clock.monotonic()
        if decoded.restore_index is not None:  # a platform.restoreStart: this memory was restored
            before, after = decoded.split(decoded.restore_index)
            self._ingest(before, now)
            self.restore()
            decoded = after
        self._ingest(decoded, now)
        state = self._state()
        if not self._held and flush_policy.buffer_full(self._policy, state) is not None:
            self._batcher.cut(self._clock.wall())  # at once: a burst must not reach the ring's bound meanwhile
            state = self._state()
        if self.shutdown is not None:
            self._replan(now, self._consider(now))
            return
        at = self._flush_at(now, state)
        if self._decide_at is None and at is not None and now >= at:
            self._decide_at = now + BACKGROUND_DEFER_S
        self._replan(now, at)

    def _ingest(self, decoded: DecodedBatch, now: float) -> None:
        self._batcher.ingest(decoded, now)
        self._expected -= decoded.types
        if self._last_request in decoded.report_request_ids:
            self._last_report_seen = True

    # -- when to write ---------------------------------------------------------------------------------------
    def _flush_at(self, now: float, state: flush_policy.BufferState | None = None) -> float | None:
        """When a flush may start, from what is buffered and pending (None: nothing to write, or one runs).
        After a failed flush, S3 is left alone for a pause (1 s, growing to 30 s) whatever the trigger, so a
        refusing or failing S3 sees no retry storm (SHUTDOWN ends it: the last chance). From SHUTDOWN on, whatever
        is buffered is due, once the last report has come or its wait is over (flush_policy)."""
        if self._held or self._flusher.running:
            return None
        state, plan = state or self._state(), self.shutdown
        reason = flush_policy.due(self._policy, state, now, shutting_down=plan is not None)
        if reason is flush_policy.FlushReason.NOTHING_DUE:
            at = flush_policy.next_age_due(self._policy, state)
            if at is None or plan is not None:
                return None
        else:
            at = now
        at = max(at, self._flusher.retry_at)
        if plan is not None and flush_policy.holding_for_report(plan, now, expecting=self._expecting()):
            at = max(at, plan.hold_until)
        return at

    def _due(self, now: float) -> bool:
        at = self._flush_at(now)
        return at is not None and now >= at

    def _consider(self, now: float) -> float | None:
        """Start a flush if one is due now; return when one may start next (`_flush_at`), for `_replan`."""
        at = self._flush_at(now)
        if at is None or now < at:
            return at
        self._decide_at = None
        self._flusher.start(None if self.shutdown is None else self.shutdown.exit_at)
        return None if self._flusher.running else self._flush_at(now)

    def next_wake(self) -> float | None:
        """The loop's timekeeper: the next moment something is to be decided without I/O. Every moment it names
        is fixed once the state it comes from is (the age of the oldest event, the end of a pause or of a wait), so
        it is worked out after each input, not at each turn of the loop; while SHUTDOWN listens it also depends on
        requests under way, which the listener does not report, so it is worked out at each turn then."""
        if self._listening:
            self._replan(self._clock.monotonic())
        return self._wake_at

    def _replan(self, now: float, flush_at: float | None = None) -> None:
        """`flush_at`: `_flush_at(now)` if the caller has it (nothing has changed since)."""
        flush = self._decide_at if self._decide_at is not None else flush_at or self._flush_at(now)
        moments = [m for m in (flush, self._next_at, self._restore_at) if m is not None]
        if self._listening and self.shutdown is not None:
            plan = self.shutdown
            quiet = flush_policy.quiet_check_at(self._policy, plan, now, self._last_activity)
            moments.append(plan.listen_until if self._in_flight() else quiet)
        self._wake_at = min(moments) if moments else None

    def on_time(self, now: float) -> None:
        if self._restore_at is not None and now >= self._restore_at:
            self._restore_at = None
            self._restore_if_held()
        if self._next_at is not None and now >= self._next_at:
            self._next_at = None
            self._send_next()
        if self.shutdown is not None:
            self._consider(now)
        elif self._decide_at is not None:
            if now >= self._decide_at:
                self._decide_at = None
                self._consider(now)
        elif self._due(now):
            self._decide_at = now + BACKGROUND_DEFER_S
        self._replan(now)

    def flush_done(self) -> None:
        """The flusher's hook: a flush ended (/next may be waiting for it, with FLUSH_BUDGET_MS)."""
        if self._next_at is not None:
            self._next_at = None
            self._send_next()
        self._replan(self._clock.monotonic())

    def _state(self) -> flush_policy.BufferState:
        buffer = self._batcher.buffer
        return flush_policy.BufferState(
            len(buffer), buffer.nbytes, buffer.oldest_arrival(), self._batcher.pending_count
        )

    # -- lifecycle events ------------------------------------------------------------------------------------
    def on_invoke(self, invoke: Invoke) -> None:
        """/next goes out at once (or, with FLUSH_BUDGET_MS, once the flush is done or the budget spent)."""
        now = self._clock.monotonic()
        self._lambda_event()
        self._last_request, self._last_report_seen = invoke.request_id, False
        if self._held and self._restore_at is None:
            self._restore_at = now + RESTORE_EVENT_WAIT_S
        wait = flush_policy.invoke_wait(self._policy, self._until(invoke.deadline_ms))
        if wait > 0:
            self._consider(now)
            if self._flusher.running:
                self._next_at = now + wait
                self._replan(now)
                return
        self._send_next()
        self._replan(now, self._consider(now))

    def next_sent(self) -> None:
        """The first /next is on the wire: our init is done, and the writer's thread loads the S3 client while
        Lambda's init goes on (the runtime's), not while an invoke runs."""
        if not self._writer_started:
            self._writer_started = True
            self._writer.start()

    def on_shutdown(self, shutdown: Shutdown) -> None:
        """Write what is buffered as soon as the last report is in; listen until Lambda is done (`done_listening`)."""
        self._lambda_event()
        self._restore_if_held()
        now = self._clock.monotonic()
        self.shutdown = flush_policy.shutdown_plan(self._policy, now, self._until(shutdown.deadline_ms))
        self._last_activity = max(self._last_activity, now)
        self._listening = True
        self._writer.start()
        self._flusher.end_pause()
        self._consider(now)
        self._replan(now)

    def done_listening(self) -> bool:
        plan = self.shutdown
        assert plan is not None
        now = self._clock.monotonic()
        done = flush_policy.done_listening(
            self._policy, plan, now, self._last_activity, expecting=self._expecting(), in_flight=self._in_flight()
        )
        if done:
            self._listening = False
            self._replan(now)
        return done

    def drain(self) -> None:
        """The listener is closed: write the rest (the loop runs until the flusher is drained)."""
        self._listening = False
        now = self._clock.monotonic()
        self._consider(now)
        self._replan(now)

    def _expecting(self) -> bool:
        """Are events still to come that Lambda always sends: the last invoke's report, the end of init?"""
        return bool(self._expected) or (self._last_request is not None and not self._last_report_seen)

    def _lambda_event(self) -> None:
        """Every /next answer: in SnapStart without platform events, the first one marks the restore."""
        if self._held and not self._platform:
            self.restore()

    def _restore_if_held(self) -> None:
        if self._held:
            self.restore()

    def restore(self) -> None:
        """A SnapStart restore: see the module's docstring."""
        self._batcher.cut(self._identity_since, create_only=True)  # the same key and bytes in every copy
        self._batcher.new_instance(new_instance_id())
        self._identity_since = self._clock.wall()
        self._writer.after_restore()
        self._held = False
        self._restore_at = None
        self.restores += 1
        self._expected = {RESTORE_REPORT} if self._platform else set()
        now = self._clock.monotonic()
        if self._decide_at is None and self._due(now):
            self._decide_at = now + BACKGROUND_DEFER_S
        self._replan(now)

    def summary(self, reason: str, elapsed_ms: float) -> str:
        self._batcher.sync_drop_count()
        c = self._batcher.counters
        return (
            f"telemetry-ext shutdown reason={reason} received={c.received} written={c.written} "
            f"objects={c.objects} unwritten={self._batcher.unwritten_events} dropped={c.dropped} "
            f"lambda_dropped={c.lambda_dropped} parse_failures={c.parse_failures} retries={c.retries} "
            f"drain_ms={elapsed_ms:.0f}"
        )

    def _until(self, deadline_ms: int) -> float:
        return deadline_ms / 1000 - self._clock.wall()
