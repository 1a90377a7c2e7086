"""The extension's event loop (telemetry_ext/loop.py) in a thread of the test, so that a test's own clients (asyncio,
aiohttp) talk to the real listener over real sockets. Everything that touches the loop's objects runs on the loop's
thread (`call`): the loop is single-threaded by design, and a test must not race it."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from telemetry_ext.loop import Loop

T = TypeVar("T")


class Collected(list[T]):
    """What the loop's thread handed over, in order; `until(n)` waits (up to 5 s) for the n-th item. The listener
    answers 200 before it delivers, so a client that has its answer must still wait for the delivery."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def add(self, item: T) -> None:
        with self._changed:
            self.append(item)
            self._changed.notify_all()

    def until(self, count: int) -> Collected[T]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self) >= count, 5), f"{len(self)} of {count} items"
        return self


class LoopThread:
    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], queue.SimpleQueue[Any]]] = queue.SimpleQueue()
        self._wake = os.eventfd(0, os.EFD_NONBLOCK)
        self._stopped = False
        loop.watch(self._wake, self._serve_calls)
        self._thread = threading.Thread(target=self._run, name="extension-loop", daemon=True)
        self.failure: BaseException | None = None

    def _run(self) -> None:
        try:
            self.loop.run_until(lambda: self._stopped)
        except BaseException as error:  # surfaced by `stop` in the test's thread
            self.failure = error

    def _serve_calls(self) -> None:
        os.eventfd_read(self._wake)
        while not self._calls.empty():
            function, answer = self._calls.get()
            try:
                answer.put((True, function()))
            except BaseException as error:
                answer.put((False, error))

    def call(self, function: Callable[[], T], timeout_s: float = 10.0) -> T:
        """`function()` run on the loop's thread; its result (or its exception, raised here)."""
        answer: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._calls.put((function, answer))
        os.eventfd_write(self._wake, 1)
        ok, value = answer.get(timeout=timeout_s)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def start(self) -> LoopThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        def stop() -> None:
            self._stopped = True

        if self._thread.is_alive():
            self.call(stop)
            self._thread.join(10)
        os.close(self._wake)
        if self.failure is not None:
            raise self.failure


@contextmanager
def loop_thread(loop: Loop | None = None) -> Iterator[LoopThread]:
    running = LoopThread(loop or Loop()).start()
    try:
        yield running
    finally:
        running.stop()
