"""Timeouts that count only the time the process could run: Lambda freezes the environment between invokes.

A request in flight when the environment is frozen is not slow: it is paused, and the server's answer is often
already waiting in the socket when the environment thaws. A plain timeout on the monotonic clock would expire
during the freeze and throw that answer away (a false alarm and a repeated PUT). So a blocking socket operation
waits in slices (`AwakeBudget.slice`); a slice that took far longer than asked was frozen (nothing else stops a
process that long), and counts for its nominal length only. The cost is one wake-up per slice of a request in
flight (four a second), in the writer's thread.
"""

from __future__ import annotations

import time

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final, TypeVar

    T = TypeVar("T")

SLICE_S: Final = 0.25
FROZEN_AFTER_S: Final = 0.5
"""A slice that overran by more than this was frozen (CPU throttling at 128 MB delays a wake-up by ~0.1 s)."""


class AwakeTimeout(TimeoutError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:.2f} s")


class AwakeBudget:
    """`seconds` of time awake for one exchange; `slice` gives the next wait, `spent` accounts for it."""

    __slots__ = ("_clock", "awake", "seconds")

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.awake = 0.0
        self._clock = clock

    def slice(self) -> float:
        """How long the next wait may be; AwakeTimeout once the budget is spent."""
        left = self.seconds - self.awake
        if left <= 0:
            raise AwakeTimeout(self.seconds)
        return min(SLICE_S, left)

    def run(self, operation: Callable[[float], T]) -> T:
        """Call `operation(timeout)` until it returns, retrying it after each slice that timed out (the operation
        must be safe to call again: a receive, a TLS handshake step, a wait for writability)."""
        while True:
            wanted = self.slice()
            started = self._clock()
            try:
                return operation(wanted)
            except TimeoutError:
                elapsed = self._clock() - started
                self.awake += elapsed if elapsed <= wanted + FROZEN_AFTER_S else wanted
