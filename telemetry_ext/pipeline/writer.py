"""The writer: S3 PUTs in a thread of their own, so that the event loop never waits on S3 and a PUT in flight
never delays a /next call or a telemetry answer.

The loop hands it jobs (the pending batches of a flush, and a deadline); the thread writes them in order, with
retries (`retries.py`), and hands back an `Outcome` through a queue and an eventfd that the loop watches (its
WRITTEN wake-up). The thread owns the S3 client: it imports and builds it the first time it runs (once the first
/next is on the wire), and SnapStart's "forget your connections" reaches it as a message between jobs. The loop
owns the batches' state: what was written is marked there, from the outcome. So no state is shared but the two
queues.

The thread runs only while there is work, and ends when its queue is empty: an idle thread would be woken at
every freeze and thaw of the environment (the freezer stops every thread), a cost paid on every invoke.

If the environment is frozen in the middle of a PUT, the thread goes on after the thaw: its batch keeps its key
and bytes, so a PUT interrupted by a freeze and repeated overwrites the same object.
"""

from __future__ import annotations

import _thread
import os

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.errors import FatalSinkError, NotTriedError, RetryableSinkError
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from collections import deque
else:  # collections.py itself imports keyword, operator, reprlib and heapq: start-up cost
    from _collections import deque

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from telemetry_ext.loop import Loop
    from telemetry_ext.pipeline.batcher import Batch
    from telemetry_ext.pipeline.retries import Sink

    class Client(Sink, Protocol):
        """The S3 sink as the writer drives it."""

        def prepare(self) -> None: ...
        def after_restore(self) -> None: ...


class Job(Record):
    def __init__(self, batches: tuple[Batch, ...], deadline: float | None) -> None:
        self.batches = batches
        self.deadline = deadline
        """Monotonic time by which the job must be done (SHUTDOWN), or None."""


class Outcome(Record):
    def __init__(
        self,
        written: tuple[Batch, ...],
        retries: int,
        result: bool | None,
        error: RetryableSinkError | FatalSinkError | NotTriedError | None = None,
    ) -> None:
        self.written = written
        self.retries = retries
        self.result = result
        """True: every batch written; False: S3 failed (`error`); None: out of time before S3 was tried."""
        self.error = error


class WriterCrashed(Exception):
    """The writer's thread failed in a way no S3 answer explains (a bug): raised on the loop, where it ends the
    extension through /exit/error instead of leaving data silently unwritten."""


_RESTORED = "restored"


class Writer:
    def __init__(
        self,
        loop: Loop,
        load_client: Callable[[], Client],
        on_outcome: Callable[[Outcome], None],
        *,
        attempts: int,
        attempt_timeout_s: float,
        clock: Callable[[], float],
    ) -> None:
        self._load_client = load_client
        self._on_outcome = on_outcome
        self._attempts = attempts
        self._attempt_timeout_s = attempt_timeout_s
        self._clock = clock
        self._lock = _thread.allocate_lock()
        self._jobs: deque[Job | str] = deque()
        """Under `_lock`, with `_running`: whether a thread runs, so that a job is never left without one."""
        self._running = False
        self._outcomes: deque[Outcome | BaseException] = deque()
        self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._client: Client | None = None
        self._started = False
        loop.watch(self._wake, self._collect)

    def start(self) -> None:
        """Run the thread once, early (the first /next is on the wire): it loads the S3 client and builds its TLS
        context, off any deadline."""
        if not self._started:
            self._started = True
            with self._lock:
                self._run_thread()

    def submit(self, job: Job) -> None:
        self._started = True
        with self._lock:
            self._jobs.append(job)
            self._run_thread()

    def after_restore(self) -> None:
        """A SnapStart restore: the client forgets its connections and credentials before its next job."""
        if self._started:
            with self._lock:
                self._jobs.append(_RESTORED)
                self._run_thread()

    def _run_thread(self) -> None:
        """With `_lock` held: start the thread unless it runs (it takes what is queued before it ends)."""
        if not self._running:
            self._running = True
            _thread.start_new_thread(self._run, ())

    # -- the loop's side -------------------------------------------------------------------------------------
    def _collect(self) -> None:
        """The WRITTEN wake-up."""
        try:
            os.eventfd_read(self._wake)
        except BlockingIOError:
            return
        while self._outcomes:
            outcome = self._outcomes.popleft()
            if isinstance(outcome, BaseException):
                raise WriterCrashed(f"{type(outcome).__name__}: {outcome}") from outcome
            self._on_outcome(outcome)

    # -- the thread's side -----------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            client = self._client
            if client is None:
                client = self._client = self._load_client()
                client.prepare()
            while True:
                with self._lock:
                    if not self._jobs:
                        self._running = False
                        return
                    job = self._jobs.popleft()
                if isinstance(job, str):
                    client.after_restore()
                else:
                    self._hand_over(self._write(client, job))
        except BaseException as error:  # a bug: surfaced on the loop (WriterCrashed), never lost in the thread
            with self._lock:
                self._running = False
            self._hand_over(error)

    def _hand_over(self, outcome: Outcome | BaseException) -> None:
        self._outcomes.append(outcome)
        os.eventfd_write(self._wake, 1)

    def _write(self, client: Client, job: Job) -> Outcome:
        from telemetry_ext.pipeline.retries import write_with_retries

        written: list[Batch] = []
        retries = [0]

        def count_retry() -> None:
            retries[0] += 1

        for batch in job.batches:
            try:
                write_with_retries(client, batch, deadline=job.deadline, attempts=self._attempts,
                                   attempt_timeout_s=self._attempt_timeout_s, on_retry=count_retry,
                                   clock=self._clock)  # fmt: skip
            except NotTriedError as error:
                return Outcome(tuple(written), retries[0], None, error)
            except (RetryableSinkError, FatalSinkError) as error:
                return Outcome(tuple(written), retries[0], False, error)
            written.append(batch)
        return Outcome(tuple(written), retries[0], True)
