"""The event loop (telemetry_ext/loop.py) and the writer's thread (pipeline/writer.py) over real descriptors."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from telemetry_ext.loop import FIRST, LATER, Loop
from telemetry_ext.pipeline.writer import Job, Outcome, Writer, WriterCrashed


class Alarm:
    """A timekeeper with one moment; `on_time` records when it came and clears it."""

    def __init__(self, at: float | None) -> None:
        self.at = at
        self.came: list[float] = []

    def next_wake(self) -> float | None:
        return self.at

    def on_time(self, now: float) -> None:
        self.came.append(now)
        self.at = None


def test_the_next_answer_is_handled_first_when_several_are_ready_in_one_turn() -> None:
    loop, order = Loop(), list[str]()
    pairs = [socket.socketpair() for _ in range(3)]

    def handler(name: str, ours: socket.socket) -> Callable[[], None]:
        def handle() -> None:
            order.append(name)
            ours.recv(10)

        return handle

    for (ours, theirs), name, priority in zip(pairs, ("post-1", "next", "post-2"), (LATER, FIRST, LATER), strict=True):
        loop.watch(ours.fileno(), handler(name, ours), priority)
        theirs.send(b"x")
    loop.run_until(lambda: len(order) == 3)
    assert order[0] == "next" and sorted(order[1:]) == ["post-1", "post-2"] and loop.turns == 1


def test_the_timekeepers_moment_wakes_the_loop_then_and_not_before() -> None:
    alarm = Alarm(time.monotonic() + 0.05)
    loop = Loop(alarm)
    started = time.monotonic()
    loop.run_until(lambda: bool(alarm.came))
    assert alarm.came[0] >= started + 0.05 and loop.turns == 1


def test_a_deadline_ends_the_run_when_nothing_else_does() -> None:
    loop = Loop()
    deadline = time.monotonic() + 0.03
    loop.run_until(lambda: False, deadline)
    assert time.monotonic() >= deadline and loop.turns == 1


class Client:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.restored = 0
        self.puts: list[str] = []

    def prepare(self) -> None:
        pass

    def after_restore(self) -> None:
        self.restored += 1

    def put(self, batch: Any, timeout_s: float) -> None:
        if self.fail:
            raise RuntimeError("a bug in the client")
        self.puts.append(str(batch))


def test_the_writers_thread_runs_only_while_there_is_work_and_hands_back_each_outcome() -> None:
    loop, client, outcomes = Loop(), Client(), list[Outcome]()
    writer = Writer(loop, lambda: client, outcomes.append, attempts=1, attempt_timeout_s=1.0, clock=time.monotonic)
    # (the batches are stand-ins: the writer hands them to the client as they are)
    before = threading.active_count()
    writer.submit(Job(("batch-1", "batch-2"), None))  # type: ignore[arg-type]
    loop.run_until(lambda: bool(outcomes), time.monotonic() + 5)
    (outcome,) = outcomes
    assert isinstance(outcome, Outcome) and outcome.result is True and client.puts == ["batch-1", "batch-2"]
    for _ in range(500):  # the thread ends once its queue is empty
        if threading.active_count() == before:
            break
        time.sleep(0.01)
    assert threading.active_count() == before
    writer.after_restore()
    writer.submit(Job(("batch-3",), None))  # type: ignore[arg-type]
    loop.run_until(lambda: len(outcomes) == 2, time.monotonic() + 5)
    assert client.restored == 1 and client.puts[-1] == "batch-3"


def test_a_bug_in_the_writers_thread_surfaces_on_the_loop() -> None:
    loop = Loop()
    writer = Writer(loop, lambda: Client(fail=True), lambda _: None, attempts=1, attempt_timeout_s=1.0,
                    clock=time.monotonic)  # fmt: skip
    writer.submit(Job(("batch",), None))  # type: ignore[arg-type]
    with pytest.raises(WriterCrashed, match="a bug in the client"):
        loop.run_until(lambda: False, time.monotonic() + 5)
