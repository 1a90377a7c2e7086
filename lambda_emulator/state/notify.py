"""Event-driven waiting on shared state: whoever changes state calls `notify()`; waiters re-check a predicate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Notifier:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float | None) -> bool:
        """True once `predicate()` holds; False if `timeout_s` passed first."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    event = self._event
                    if predicate():
                        return True
                    await event.wait()
        except TimeoutError:
            return False
