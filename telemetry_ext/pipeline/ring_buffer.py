"""A ring buffer of encoded events, bounded by count and by bytes, that drops the oldest when full.

Pure: no I/O, no clock of its own. Every event pushed carries its arrival time (monotonic seconds, given by
the caller) so the flush policy can ask how old the oldest buffered event is.
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from collections import deque
else:  # collections.py itself imports keyword, operator, reprlib and heapq: start-up cost
    from _collections import deque


class RingBuffer:
    """FIFO of `(arrival, line)` pairs. `dropped` counts every event pushed out or refused."""

    __slots__ = ("_bytes", "_items", "dropped", "max_bytes", "max_events")

    def __init__(self, max_events: int, max_bytes: int) -> None:
        if max_events < 1 or max_bytes < 1:
            raise ValueError("a ring buffer needs room for at least one event")
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.dropped = 0
        self._items: deque[tuple[float, bytes]] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def oldest_arrival(self) -> float | None:
        return self._items[0][0] if self._items else None

    def push(self, line: bytes, arrival: float) -> None:
        """Append one event, dropping the oldest until both bounds hold. An event larger than the whole
        buffer cannot be kept: it is dropped (and counted) itself."""
        size = len(line)
        if size > self.max_bytes:
            self.dropped += 1
            return
        while self._items and (len(self._items) >= self.max_events or self._bytes + size > self.max_bytes):
            self._bytes -= len(self._items.popleft()[1])
            self.dropped += 1
        self._items.append((arrival, line))
        self._bytes += size

    def take(self, max_bytes: int) -> list[bytes]:
        """Remove and return the oldest events whose sizes (plus one newline each) fit in `max_bytes`.
        Always returns at least one event when the buffer is not empty."""
        taken: list[bytes] = []
        total = 0
        while self._items:
            size = len(self._items[0][1]) + 1
            if taken and total + size > max_bytes:
                break
            line = self._items.popleft()[1]
            self._bytes -= len(line)
            taken.append(line)
            total += size
        return taken
