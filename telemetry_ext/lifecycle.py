"""Lifecycle: turns INVOKE and SHUTDOWN into flushes, as the flush policy decides.

One flush runs at a time. An INVOKE flush runs concurrently with the function and may outlive the wait before
/next: then it goes on after the thaw (its batches keep their keys, so a PUT interrupted by a freeze and
retried overwrites the same object). SHUTDOWN waits briefly for the last `platform.report`, stops any flush
still under way, drains within the deadline and prints the one summary line the extension writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Final, Protocol

from telemetry_ext.config import Config
from telemetry_ext.errors import FatalSinkError, RetryableSinkError
from telemetry_ext.events import DecodedBatch
from telemetry_ext.lambda_api import Invoke, Shutdown
from telemetry_ext.pipeline import flush_policy
from telemetry_ext.pipeline.batcher import Batcher
from telemetry_ext.pipeline.sink import S3Sink, write_with_retries

log: Final = logging.getLogger("telemetry_ext")


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def wall(self) -> float: ...


@dataclass(frozen=True, slots=True)
class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


def policy_from(config: Config) -> flush_policy.FlushPolicy:
    return flush_policy.FlushPolicy(
        interval_s=config.flush_interval_ms / 1000,
        budget_s=config.flush_budget_ms / 1000,
        batch_max_bytes=config.batch_max_bytes,
        shutdown_grace_s=config.shutdown_grace_ms / 1000,
        shutdown_margin_s=config.shutdown_margin_ms / 1000,
    )


class Lifecycle:
    def __init__(self, config: Config, batcher: Batcher, sink: S3Sink, clock: Clock) -> None:
        self._config = config
        self._policy = policy_from(config)
        self._batcher = batcher
        self._sink = sink
        self._clock = clock
        self._flush: asyncio.Task[None] | None = None
        self._last_request: str | None = None
        self._last_report = asyncio.Event()
        self._reported_errors: set[str] = set()

    def deliver(self, decoded: DecodedBatch) -> None:
        """The listener's callback: keep the events, note whether the last invoke's report came."""
        self._batcher.ingest(decoded, self._clock.monotonic())
        if self._last_request in decoded.report_request_ids:
            self._last_report.set()

    async def on_invoke(self, invoke: Invoke) -> None:
        self._last_request = invoke.request_id
        self._last_report.clear()
        decision = flush_policy.on_invoke(
            self._policy, self._state(), self._clock.monotonic(), self._until(invoke.deadline_ms)
        )
        if decision.flush and self._flush is None:
            self._start_flush(self._to_monotonic(invoke.deadline_ms))
        if self._flush is not None and decision.wait_s > 0:
            await asyncio.wait({self._flush}, timeout=decision.wait_s)

    async def on_shutdown(self, shutdown: Shutdown) -> str:
        """Drain before the deadline; return the summary line."""
        started = self._clock.monotonic()
        awaiting = self._last_request is not None and not self._last_report.is_set()
        plan = flush_policy.on_shutdown(self._policy, self._until(shutdown.deadline_ms), awaiting)
        if awaiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._last_report.wait(), plan.grace_s)
        await self._stop_flush()
        self._start_flush(self._clock.monotonic() + plan.drain_s)
        assert self._flush is not None
        await asyncio.wait({self._flush})
        await self._sink.close()
        elapsed_ms = (self._clock.monotonic() - started) * 1000
        return self.summary(shutdown.reason, elapsed_ms)

    def summary(self, reason: str, elapsed_ms: float) -> str:
        self._batcher.sync_drop_count()
        c = self._batcher.counters
        return (
            f"telemetry-ext shutdown reason={reason} received={c.received} written={c.written} "
            f"objects={c.objects} unwritten={self._batcher.unwritten_events} dropped={c.dropped} "
            f"lambda_dropped={c.lambda_dropped} parse_failures={c.parse_failures} retries={c.retries} "
            f"drain_ms={elapsed_ms:.0f}"
        )

    def _state(self) -> flush_policy.BufferState:
        buffer = self._batcher.buffer
        return flush_policy.BufferState(
            buffered_events=len(buffer),
            buffered_bytes=buffer.nbytes,
            oldest_arrival=buffer.oldest_arrival(),
            pending_batches=len(self._batcher.pending),
        )

    def _until(self, deadline_ms: int) -> float:
        return deadline_ms / 1000 - self._clock.wall()

    def _to_monotonic(self, deadline_ms: int) -> float:
        return self._clock.monotonic() + self._until(deadline_ms)

    def _start_flush(self, deadline: float) -> None:
        self._flush = asyncio.create_task(self._write_all(deadline))
        self._flush.add_done_callback(self._flush_done)

    def _flush_done(self, task: asyncio.Task[None]) -> None:
        if self._flush is task:
            self._flush = None

    async def _stop_flush(self) -> None:
        """Cancel a flush under way; its batches stay pending and keep their keys."""
        task = self._flush
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _write_all(self, deadline: float) -> None:
        batcher = self._batcher
        batcher.cut(self._clock.wall())
        for batch in batcher.pending:
            try:
                await write_with_retries(
                    self._sink,
                    batch,
                    deadline=deadline,
                    attempts=self._config.s3_max_attempts,
                    attempt_timeout_s=self._config.s3_timeout_ms / 1000,
                    on_retry=self._count_retry,
                    clock=self._clock.monotonic,
                )
            except (RetryableSinkError, FatalSinkError) as error:
                self._report_once(error)
                return
            batcher.mark_written(batch)

    def _count_retry(self) -> None:
        self._batcher.counters.retries += 1

    def _report_once(self, error: RetryableSinkError | FatalSinkError) -> None:
        """One log line per kind of failure for the life of the process; the rest is in the counters."""
        kind = f"{type(error).__name__}:{str(error).rsplit(':', 1)[-1]}"
        if kind not in self._reported_errors:
            self._reported_errors.add(kind)
            log.error("S3 write failed, data kept for the next flush (logged once): %s", error)
