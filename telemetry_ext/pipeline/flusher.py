"""One flush at a time, on the loop's side: cut what is buffered into batches and have the writer write every
pending batch (`writer.py`); mark what was written when its outcome comes back.

A running flush takes the new batches too, after its own: when a job is done and more was cut meanwhile, the
next job goes at once. A failed flush leaves its batches pending and asks for a pause (`retry_at`) before the
next one, so a refusing S3 sees no retry storm; SHUTDOWN, the last chance, ends the pause (`end_pause`), and a
failure after it ends the drain (what is left is counted as unwritten).
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING, log
from telemetry_ext.pipeline.writer import Job

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final, Protocol

    from telemetry_ext.pipeline.batcher import Batcher
    from telemetry_ext.pipeline.writer import Outcome

    class Jobs(Protocol):
        """Where jobs go (the writer)."""

        def submit(self, job: Job) -> None: ...


RETRY_PAUSE_S: Final = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Pause after 1, 2, 3, ... failed flushes in a row before S3 is tried again."""


class Flusher:
    def __init__(
        self,
        batcher: Batcher,
        jobs: Jobs,
        *,
        monotonic: Callable[[], float],
        wall: Callable[[], float],
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        self._batcher = batcher
        self._jobs = jobs
        self._monotonic = monotonic
        self._wall = wall
        self._on_done = on_done
        self._deadline: float | None = None
        self._failures = 0
        self._reported: set[str] = set()
        self._last_chance = False
        self._started_as_last_chance = False
        self.running = False
        self.gave_up = False
        """A flush after SHUTDOWN failed: the drain is over (S3 refuses or is down)."""
        self.retry_at = 0.0

    def start(self, deadline: float | None = None) -> None:
        """Begin a flush unless one runs, if anything is buffered or pending. `deadline`: monotonic time the
        writer must be done by (SHUTDOWN's exit)."""
        if self.running:
            return
        self._batcher.cut(self._wall())
        if self._batcher.pending:
            self.running, self._deadline, self._started_as_last_chance = True, deadline, self._last_chance
            self._jobs.submit(Job(self._batcher.pending, deadline))

    def drained(self) -> bool:
        """SHUTDOWN's drain is over: nothing left to write, or a flush since SHUTDOWN failed."""
        batcher = self._batcher
        return not self.running and (self.gave_up or not (len(batcher.buffer) or batcher.pending))

    def end_pause(self) -> None:
        """Write again at once whatever failed before (SHUTDOWN: the last chance)."""
        self.retry_at = 0.0
        self._last_chance = True

    def on_outcome(self, outcome: Outcome) -> None:
        """The WRITTEN wake-up: the writer finished a job."""
        batcher = self._batcher
        for batch in outcome.written:
            batcher.mark_written(batch)
        batcher.counters.retries += outcome.retries
        if outcome.result and (batcher.pending or len(batcher.buffer)):
            batcher.cut(self._wall())  # what came in meanwhile goes in the same flush
            self._jobs.submit(Job(batcher.pending, self._deadline))
            return
        self.running = False
        if outcome.result is None:  # out of time before S3 was tried: not a failure
            log.debug("%s", outcome.error)
        elif outcome.result:
            self._failures = 0
        else:
            self._failures += 1
            self.retry_at = self._monotonic() + RETRY_PAUSE_S[min(self._failures, len(RETRY_PAUSE_S)) - 1]
            self.gave_up = self._started_as_last_chance  # a flush begun before SHUTDOWN does not end the drain
            self._report_once(outcome.error)
        self._on_done()

    def _report_once(self, error: Exception | None) -> None:
        """One log line per kind of failure for the life of the process; the rest is in the counters."""
        if error is None:
            return
        kind = f"{type(error).__name__}:{str(error).rsplit(':', 1)[-1]}"
        if kind not in self._reported:
            self._reported.add(kind)
            log.error("S3 write failed, data kept for the next flush (logged once): %s", error)
