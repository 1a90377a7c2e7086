"""Timeouts that count only the time the process could run: Lambda freezes the environment between invokes.

A request in flight when the environment is frozen is not slow: it is paused, and the server's answer is often
already waiting in the socket when the environment thaws. A plain timeout on the monotonic clock would expire
during the freeze and throw that answer away (a false alarm and a repeated PUT). `awake_timeout` waits in
slices; a slice that took far longer than asked was frozen (nothing else stops a process that long), and counts
for its nominal length only. The cost is one timer per slice while a request is in flight (four a second).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Final, TypeVar

    T = TypeVar("T")

SLICE_S: Final = 0.25
FROZEN_AFTER_S: Final = 0.5
"""A slice that overran by more than this was frozen (CPU throttling at 128 MB delays a timer by ~0.1 s)."""


async def awake_timeout(awaitable: Awaitable[T], seconds: float) -> T:
    """`awaitable`'s result, or TimeoutError once it has had `seconds` of time awake (it is cancelled then)."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(awaitable)
    awake = 0.0
    try:
        while True:
            wanted = min(SLICE_S, seconds - awake)
            started = loop.time()
            done, _ = await asyncio.wait({task}, timeout=wanted)
            if done:
                return task.result()
            elapsed = loop.time() - started
            awake += elapsed if elapsed <= wanted + FROZEN_AFTER_S else wanted
            if awake >= seconds:
                raise TimeoutError(f"no answer within {seconds:.2f} s")
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
