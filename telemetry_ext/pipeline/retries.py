"""How one batch is written: attempts within a time budget, a dropped connection retried at once, capped
exponential backoff with full jitter after that, and never a retry of what cannot pass (`FatalSinkError`).

The sink (`sink.py`, S3 PutObject) makes one attempt; this loop decides whether and when to make the next. It
blocks: it runs in the writer's thread.
"""

from __future__ import annotations

import time

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.errors import NotTriedError, RetryableSinkError

if TYPE_CHECKING:
    from collections.abc import Callable

    Sleep = Callable[[float], None]
    from typing import Final, Protocol

    from telemetry_ext.pipeline.batcher import Batch

    class Sink(Protocol):
        def put(self, batch: Batch, timeout_s: float) -> None: ...


BACKOFF_BASE_S: Final = 0.05
BACKOFF_CAP_S: Final = 1.0


def write_with_retries(
    sink: Sink,
    batch: Batch,
    *,
    deadline: float | None,
    attempts: int,
    attempt_timeout_s: float,
    on_retry: Callable[[], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = time.sleep,
) -> None:
    """PUT `batch` until it succeeds, raising the last error when attempts or time (`deadline` on `clock`, if
    any) run out. A `FatalSinkError` is raised at once; `NotTriedError` if the deadline had passed already."""
    for attempt in range(attempts):
        left = attempt_timeout_s if deadline is None else deadline - clock()
        if left <= 0:
            if attempt == 0:
                raise NotTriedError(f"PUT {batch.key}: not tried, its flush's deadline had passed; kept for the next")
            raise RetryableSinkError(f"PUT {batch.key}: out of time after {attempt} attempts")
        try:
            sink.put(batch, min(attempt_timeout_s, left))
            return
        except RetryableSinkError:
            if attempt + 1 == attempts:
                raise
            on_retry()
            pause = backoff_s(attempt)
            if deadline is not None and deadline - clock() <= pause:
                raise
            sleep(pause)


def backoff_s(attempt: int) -> float:
    """0 for the first retry (a stale connection is the usual cause), then full-jitter exponential."""
    if attempt == 0:
        return 0.0
    import random  # only after a second failure (its import is start-up cost otherwise)

    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
