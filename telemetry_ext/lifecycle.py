"""Lifecycle: decides when data moves, from every input the extension gets, in every kind of environment.

Inputs, one pipeline: a telemetry POST (`deliver`), the age timer, INVOKE, SHUTDOWN, and a SnapStart restore.
- `deliver`: keep the events; write at once in the background when a full batch or the high-water mark is
  reached (the environment is running while Lambda delivers, even in the middle of a long invoke).
- The age timer: write when the oldest event has waited the flush interval. On Lambda Managed Instances,
  which send no INVOKE and never freeze, this and `deliver` are what write; elsewhere a timer due while the
  environment was frozen fires at the thaw.
- INVOKE: call /next at once, then (`next_sent`) write what is due, in the background: the function never
  waits on S3, and no work of ours delays the /next call (at 128 MB a CPU burst by any thread of ours throttles
  the whole environment for the rest of a 100 ms period). With `budget` > 0 the flush starts first and /next
  waits for it that long.
- SHUTDOWN: write what is buffered, and what comes, as it comes (once the last report, which Lambda delivers
  just after SHUTDOWN, has come or half the quiet window has passed: one PUT instead of two), keep listening
  until the stream is quiet and the events still expected have come, stop the listener (answering requests
  under way), write the rest, and print the summary.
- A SnapStart restore (a `platform.restoreStart` event, or the first /next when no platform events are
  subscribed): every restored copy of the snapshot holds the same memory. Events held before the restore are
  cut under the snapshot's instance id, written create-only (one copy writes them, the others find them there);
  then a fresh instance id, fresh connections and fresh credentials. Nothing is written before that point.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.pipeline import flush_policy
from telemetry_ext.pipeline.flusher import Flusher

if TYPE_CHECKING:
    from typing import Final, Protocol

    from telemetry_ext.config import Config
    from telemetry_ext.events import DecodedBatch
    from telemetry_ext.lambda_api import Invoke, Shutdown
    from telemetry_ext.pipeline.batcher import Batcher
    from telemetry_ext.pipeline.retries import Sink

    class Clock(Protocol):
        def monotonic(self) -> float: ...
        def wall(self) -> float: ...

    class Output(Sink, Protocol):
        """The S3 sink as the lifecycle drives it (`LazyS3Sink` stands for it until it is loaded)."""

        def prepare(self) -> None: ...
        def after_restore(self) -> None: ...
        async def close(self) -> None: ...

    class Intake(Protocol):
        """The listener, as SHUTDOWN sees it."""

        @property
        def in_flight(self) -> int: ...
        async def stop(self, timeout_s: float) -> None: ...


INIT_REPORT: Final = "platform.initReport"
RESTORE_REPORT: Final = "platform.restoreReport"
LISTENER_STOP_S: Final = 0.1
BACKGROUND_DEFER_S: Final = 0.01
"""A telemetry POST or the age timer asks for a flush this much later: at a thaw they are handled in the same
loop turn as the INVOKE they come with, and no work of ours may go before its /next (measured: a flush started
there, with the TLS context's first build, held /next 57 ms at 128 MB)."""
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
    def __init__(self, config: Config, batcher: Batcher, sink: Output, clock: Clock) -> None:
        self._policy = policy_from(config)
        self._batcher = batcher
        self._sink = sink
        self._clock = clock
        self._flusher = Flusher(
            batcher, sink, monotonic=clock.monotonic, wall=clock.wall, attempts=config.s3_max_attempts,
            attempt_timeout_s=config.s3_timeout_ms / 1000, on_done=self._arm_timer,
        )  # fmt: skip
        self._platform = "platform" in config.types
        self._held = config.lambda_env.mode == "snap-start"
        """SnapStart: nothing is written before the first restore."""
        self._expected: set[str] = {INIT_REPORT} if self._platform else set()
        self._last_request: str | None = None
        self._last_report_seen = False
        self._last_activity = clock.monotonic()
        self._activity = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._deferred: asyncio.TimerHandle | None = None
        self._restore_timer: asyncio.TimerHandle | None = None
        self._after_next = False
        self._prepared = False
        self._closing = False
        self._shutdown: flush_policy.ShutdownPlan | None = None
        """From SHUTDOWN on: everything buffered is due (once the last report came, or its wait is over)."""
        self._identity_since = clock.wall()
        """When the instance id in use was drawn: a restored copy's memory holds the snapshot's, in every copy."""
        self.restores = 0

    # -- telemetry -------------------------------------------------------------------------------------------
    def deliver(self, decoded: DecodedBatch) -> None:
        """The listener's callback, for every POST."""
        self._last_activity = self._clock.monotonic()
        self._activity.set()
        if decoded.restore_index is not None:  # a platform.restoreStart: this memory was restored
            before, after = decoded.split(decoded.restore_index)
            self._ingest(before)
            self.restore()
            decoded = after
        self._ingest(decoded)
        if not self._held and flush_policy.buffer_full(self._policy, self._state()) is not None:
            self._batcher.cut(self._clock.wall())  # at once: a burst must not reach the ring's bound meanwhile
        self._consider_soon()

    def _ingest(self, decoded: DecodedBatch) -> None:
        self._batcher.ingest(decoded, self._clock.monotonic())
        self._expected -= decoded.types
        if self._last_request in decoded.report_request_ids:
            self._last_report_seen = True

    # -- when to write ---------------------------------------------------------------------------------------
    def _consider_soon(self) -> None:
        if self._deferred is None and not self._closing:
            self._deferred = asyncio.get_running_loop().call_later(BACKGROUND_DEFER_S, self._consider_deferred)

    def _consider_deferred(self) -> None:
        self._deferred = None
        if not self._after_next:  # an INVOKE is in hand: next_sent() considers once its /next is on the wire
            self._consider()

    def _consider(self) -> None:
        """Start a flush if one is due. After a failed flush, S3 is left alone for a pause (1 s, growing to 30 s)
        whatever the trigger, so a refusing or failing S3 sees no retry storm (SHUTDOWN ends it: the last chance).
        From SHUTDOWN on, whatever is buffered is due, what Lambda delivers while the extension listens too, once
        the last report has come or its wait is over (flush_policy)."""
        if self._held or self._flusher.running:
            return
        now, plan = self._clock.monotonic(), self._shutdown
        reason = flush_policy.due(self._policy, self._state(), now, shutting_down=plan is not None)
        holding = plan is not None and flush_policy.holding_for_report(plan, now, expecting=self._expecting())
        if reason is flush_policy.FlushReason.NOTHING_DUE or holding or now < self._flusher.retry_at:
            self._arm_timer()
            return
        self._flusher.start(None if plan is None else plan.exit_at)

    def _arm_timer(self) -> None:
        """Wake when the oldest event reaches the interval, or when the pause after a failure ends."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closing:
            return
        state = self._state()
        moments = [m for m in (flush_policy.next_age_due(self._policy, state),) if m is not None]
        if state.pending_batches:
            moments.append(self._flusher.retry_at)
        if self._shutdown is not None and self._clock.monotonic() < self._shutdown.hold_until:
            moments.append(self._shutdown.hold_until)
        if moments and not self._held:
            delay = max(0.0, min(moments) - self._clock.monotonic())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._consider_soon()

    def _state(self) -> flush_policy.BufferState:
        buffer = self._batcher.buffer
        return flush_policy.BufferState(len(buffer), buffer.nbytes, buffer.oldest_arrival(), len(self._batcher.pending))

    # -- lifecycle events ------------------------------------------------------------------------------------
    async def on_invoke(self, invoke: Invoke) -> None:
        self._lambda_event()
        self._last_request, self._last_report_seen = invoke.request_id, False
        if self._held and self._restore_timer is None:
            self._restore_timer = asyncio.get_running_loop().call_later(RESTORE_EVENT_WAIT_S, self._restore_if_held)
        self._after_next = True
        wait = flush_policy.invoke_wait(self._policy, self._until(invoke.deadline_ms))
        if wait > 0:  # FLUSH_BUDGET_MS: the flush goes first, and /next waits for it that long
            self._consider()
            await self._flusher.wait(wait)

    def next_sent(self) -> None:
        """The /next request is on the wire: start what INVOKE decided (a flush). The first one ends our init: the
        S3 sink and its TLS context load in a thread while Lambda's init goes on (the runtime's), not while an
        invoke runs (at 128 MB the loading thread, holding the GIL, held an invoke's /next ~70 ms)."""
        if not self._prepared:
            self._prepared = True
            self._sink.prepare()
        if not self._after_next:
            return
        self._after_next = False
        self._consider()

    async def on_shutdown(self, shutdown: Shutdown, intake: Intake) -> str:
        """Listen until Lambda is done, write everything within the deadline; return the summary line."""
        self._lambda_event()
        self._restore_if_held()
        started = self._clock.monotonic()
        plan = flush_policy.shutdown_plan(self._policy, started, self._until(shutdown.deadline_ms))
        self._last_activity = max(self._last_activity, started)
        self._sink.prepare()
        self._shutdown = plan
        self._flusher.end_pause()
        self._consider()
        await self._listen_until_quiet(plan, intake)
        await intake.stop(min(LISTENER_STOP_S, max(0.0, plan.exit_at - self._clock.monotonic())))
        await self._flusher.drain(plan.exit_at)
        self._closing = True
        await self._flusher.stop()
        for timer in (self._timer, self._restore_timer, self._deferred):
            if timer is not None:
                timer.cancel()
        await self._sink.close()
        return self.summary(shutdown.reason, (self._clock.monotonic() - started) * 1000)

    async def _listen_until_quiet(self, plan: flush_policy.ShutdownPlan, intake: Intake) -> None:
        while True:
            now = self._clock.monotonic()
            if flush_policy.done_listening(
                self._policy, plan, now, self._last_activity, expecting=self._expecting(), in_flight=intake.in_flight
            ):
                return
            self._activity.clear()
            wake = flush_policy.quiet_check_at(self._policy, plan, now, self._last_activity)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._activity.wait(), max(0.001, wake - now))

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
        self._sink.after_restore()
        self._held = False
        self.restores += 1
        self._expected = {RESTORE_REPORT} if self._platform else set()
        self._consider_soon()

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
