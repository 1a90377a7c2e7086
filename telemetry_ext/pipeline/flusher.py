"""One flush at a time: cut what is buffered into batches and write every pending batch, in the background.

A flush runs concurrently with the function and the listener. If the environment is frozen in the middle of
it, it goes on after the thaw: its batches keep their keys, so a PUT interrupted by a freeze and repeated
overwrites the same object. A failed flush leaves its batches pending and asks for a pause (`retry_at`)
before the next one; only SHUTDOWN, the last chance, does not wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from telemetry_ext import TYPE_CHECKING, log
from telemetry_ext.errors import FatalSinkError, NotTriedError, RetryableSinkError
from telemetry_ext.pipeline.retries import write_with_retries

if TYPE_CHECKING:
    from typing import Final

    from telemetry_ext.pipeline.batcher import Batcher
    from telemetry_ext.pipeline.retries import Sink

RETRY_PAUSE_S: Final = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Pause after 1, 2, 3, ... failed flushes in a row before S3 is tried again."""


class Flusher:
    def __init__(
        self,
        batcher: Batcher,
        sink: Sink,
        *,
        monotonic: Callable[[], float],
        wall: Callable[[], float],
        attempts: int,
        attempt_timeout_s: float,
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        self._batcher = batcher
        self._sink = sink
        self._monotonic = monotonic
        self._wall = wall
        self._attempts = attempts
        self._attempt_timeout_s = attempt_timeout_s
        self._on_done = on_done
        self._task: asyncio.Task[bool | None] | None = None
        self._failures = 0
        self._reported: set[str] = set()
        self.retry_at = 0.0

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self, deadline: float | None = None) -> None:
        """Begin a flush unless one runs (a running flush takes the new batches too, after its own)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush(deadline))
            self._task.add_done_callback(self._finished)

    async def wait(self, timeout_s: float | None) -> None:
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=timeout_s)

    async def drain(self, until: float) -> None:
        """Flush until nothing is left to write or the time (monotonic `until`) is spent. A flush of its own that
        fails ends it (S3 refuses or is down: what is left is counted as unwritten); an earlier one does not."""
        tried = False
        while (left := until - self._monotonic()) > 0:
            if self._task is None:
                if not (len(self._batcher.buffer) or self._batcher.pending) or (tried and self._failures):
                    return
                self.start(until)
                tried = True
            await self.wait(left)

    def end_pause(self) -> None:
        """Write again at once whatever failed before (SHUTDOWN: the last chance)."""
        self.retry_at = 0.0

    async def stop(self) -> None:
        """Cancel a flush under way (at exit): its batches stay pending, counted as unwritten."""
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _finished(self, task: asyncio.Task[bool | None]) -> None:
        if self._task is task:
            self._task = None
        if task.cancelled():
            return
        outcome = task.result()  # _flush catches every sink error; anything else is a bug and surfaces here
        if outcome is None:
            return  # out of time before S3 was tried: not a failure
        self._failures = 0 if outcome else self._failures + 1
        if self._failures:
            self.retry_at = self._monotonic() + RETRY_PAUSE_S[min(self._failures, len(RETRY_PAUSE_S)) - 1]
        self._on_done()

    async def _flush(self, deadline: float | None) -> bool | None:
        """True when everything pending was written, False when S3 failed, None when out of time untried."""
        batcher = self._batcher
        batcher.cut(self._wall())
        while batcher.pending:
            batch = batcher.pending[0]
            try:
                await write_with_retries(
                    self._sink,
                    batch,
                    deadline=deadline,
                    attempts=self._attempts,
                    attempt_timeout_s=self._attempt_timeout_s,
                    on_retry=self._count_retry,
                    clock=self._monotonic,
                )
            except NotTriedError as error:
                log.debug("%s", error)
                return None
            except (RetryableSinkError, FatalSinkError) as error:
                self._report_once(error)
                return False
            batcher.mark_written(batch)
            if not batcher.pending and len(batcher.buffer):
                batcher.cut(self._wall())  # what came in meanwhile goes in the same flush
        return True

    def _count_retry(self) -> None:
        self._batcher.counters.retries += 1

    def _report_once(self, error: RetryableSinkError | FatalSinkError) -> None:
        """One log line per kind of failure for the life of the process; the rest is in the counters."""
        kind = f"{type(error).__name__}:{str(error).rsplit(':', 1)[-1]}"
        if kind not in self._reported:
            self._reported.add(kind)
            log.error("S3 write failed, data kept for the next flush (logged once): %s", error)
