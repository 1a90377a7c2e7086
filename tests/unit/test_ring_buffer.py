import time
import tracemalloc

import orjson
import pytest

from telemetry_ext.events import decode_batch
from telemetry_ext.pipeline.ring_buffer import RingBuffer


def test_drops_the_oldest_when_the_event_bound_is_hit() -> None:
    buffer = RingBuffer(max_events=3, max_bytes=1000)
    for i in range(5):
        buffer.push(b"e%d" % i, arrival=float(i))
    assert buffer.dropped == 2
    assert buffer.take(1000) == [b"e2", b"e3", b"e4"]
    assert len(buffer) == 0 and buffer.nbytes == 0


def test_drops_the_oldest_when_the_byte_bound_is_hit() -> None:
    buffer = RingBuffer(max_events=100, max_bytes=10)
    buffer.push(b"aaaa", 0.0)
    buffer.push(b"bbbb", 1.0)
    buffer.push(b"cccc", 2.0)  # 12 bytes would not fit: "aaaa" goes
    assert buffer.dropped == 1
    assert buffer.nbytes == 8
    assert buffer.oldest_arrival() == 1.0


def test_an_event_larger_than_the_buffer_is_dropped_and_counted() -> None:
    buffer = RingBuffer(max_events=10, max_bytes=4)
    buffer.push(b"ok", 0.0)
    buffer.push(b"too large", 1.0)
    assert buffer.dropped == 1
    assert buffer.take(100) == [b"ok"]


def test_take_respects_the_byte_cap_but_always_returns_one_event() -> None:
    buffer = RingBuffer(max_events=10, max_bytes=1000)
    for line in (b"12345", b"67890", b"abcde"):
        buffer.push(line, 0.0)
    assert buffer.take(12) == [b"12345", b"67890"]  # 6 + 6 bytes with newlines
    assert buffer.take(1) == [b"abcde"]
    assert buffer.take(1) == []


def test_memory_stays_bounded_under_a_flood() -> None:
    buffer = RingBuffer(max_events=1000, max_bytes=50_000)
    for i in range(100_000):
        buffer.push(b"x" * (i % 200), float(i))
        assert len(buffer) <= 1000 and buffer.nbytes <= 50_000
    assert buffer.dropped + len(buffer) == 100_000


def test_a_buffer_without_room_is_refused() -> None:
    with pytest.raises(ValueError):
        RingBuffer(max_events=0, max_bytes=10)


def test_memory_held_matches_the_bytes_counted_for_decoded_events() -> None:
    buffer = RingBuffer(max_events=5_000, max_bytes=10_000_000)
    tracemalloc.start()
    try:
        for batch in range(20):
            events = [{"time": "t", "type": "function", "record": f"line {batch}.{i}"} for i in range(1000)]
            for line in decode_batch(orjson.dumps(events)).lines:
                buffer.push(line, time.monotonic())
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # per event: the line, its bytes header and the (arrival, line) tuple; never the encoder's spare capacity
    assert len(buffer) == 5_000
    assert held < buffer.nbytes + 5_000 * 200
