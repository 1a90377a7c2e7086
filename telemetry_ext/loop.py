"""The extension's one event loop: one thread, one epoll, and every wake-up is one of these:

- NEXT: the Extensions API answered /next (an INVOKE or SHUTDOWN), `lambda_api.NextEvents`;
- TELEMETRY: Lambda's telemetry dispatcher connected, or sent on a connection, `http.server.OkServer`;
- WRITTEN: the writer's thread finished a job (its eventfd), `pipeline.writer.Writer`;
- SIGTERM: the signal's wake-up fd, `app.py`;
- TIME: the moment the lifecycle asked for (a deferred flush decision, the age of the oldest event, the end of
  a pause after a failure, a step of SHUTDOWN), or the deadline of `run_until`.

Nothing runs between wake-ups: no timer ticks, no polling. Handlers of the fds that are ready in one turn run in
the order of their priority (the /next answer first: no work of ours goes before the /next call an INVOKE asks
for), then the lifecycle's time, if it has come. Per invoke that is one NEXT and one TELEMETRY per POST.
"""

from __future__ import annotations

import select
import time

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    Handler = Callable[[], None]
    from typing import Final, Protocol

    class Timekeeper(Protocol):
        """Who decides when the loop wakes without I/O (the lifecycle)."""

        def next_wake(self) -> float | None:
            """The monotonic moment to wake at, or None."""

        def on_time(self, now: float) -> None:
            """That moment (or a later one) has come."""


FIRST: Final = 0
"""Priority of the /next answer."""
LATER: Final = 1
_WATCHED: Final = select.EPOLLIN | select.EPOLLRDHUP


class NoTime:
    """A timekeeper that never asks for a wake-up (until the lifecycle takes over, and in tests of the edges)."""

    def next_wake(self) -> float | None:
        return None

    def on_time(self, now: float) -> None:
        pass


class Loop:
    def __init__(self, timekeeper: Timekeeper | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._epoll = select.epoll()
        self._handlers: dict[int, tuple[int, Handler]] = {}
        self.timekeeper: Timekeeper = timekeeper or NoTime()
        self._clock = clock
        self.turns = 0

    def watch(self, fd: int, handler: Handler, priority: int = LATER) -> None:
        """Call `handler` whenever `fd` is readable (or closed by its peer)."""
        self._epoll.register(fd, _WATCHED)
        self._handlers[fd] = (priority, handler)

    def forget(self, fd: int) -> None:
        if self._handlers.pop(fd, None) is not None:
            self._epoll.unregister(fd)

    def run_until(self, done: Callable[[], bool], deadline: float | None = None) -> None:
        """Serve wake-ups until `done()` is true after one, or the monotonic `deadline` has passed."""
        clock, timekeeper, handlers = self._clock, self.timekeeper, self._handlers
        while not done():
            wake = timekeeper.next_wake()
            until = wake if deadline is None or (wake is not None and wake < deadline) else deadline
            ready = self._epoll.poll(-1.0 if until is None else max(0.0, until - clock()))
            self.turns += 1
            if len(ready) > 1:
                ready.sort(key=lambda item: handlers[item[0]][0] if item[0] in handlers else LATER)
            for fd, _ in ready:
                entry = handlers.get(fd)  # a handler earlier in this turn may have closed it
                if entry is not None:
                    entry[1]()
            now = clock()
            if wake is not None and now >= wake:
                timekeeper.on_time(now)  # it checks everything again: its moments may have moved meanwhile
            if deadline is not None and now >= deadline:
                return

    def close(self) -> None:
        self._epoll.close()
