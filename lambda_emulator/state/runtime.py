"""Runtime API 2018-06-01 state: the runtime's /next, its response or error, init errors (lambda-api.md §4),
and SnapStart's restore/next and restore/error (§3.8).

Each pending `/next` is an idle runtime worker. On-demand and SnapStart have one (a second concurrent `/next`
is refused, 403); on Lambda Managed Instances the runtime runs several workers, each polling `/next`, and an
invoke goes to any idle one (LMI RIE `invoke_router.go`: one idle-runtime queue, one running invoke per
request id). An invocation released while no worker waits is handed to the next `/next`.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Final

from lambda_emulator.state.errors import ApiError
from lambda_emulator.state.notify import Notifier

MAX_PAYLOAD_BYTES: Final = 6 * 1024 * 1024 + 100
TIMED_OUT_KEPT: Final = 10_000
"""Request ids remembered after an LMI timeout, so a late answer gets 410 rather than 400 (RIE timeout cache)."""


@dataclass(slots=True)
class Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    released_at: float = 0.0
    response_started_at: float | None = None
    response_ended_at: float | None = None
    response: bytes | None = None
    error_type: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def headers(self) -> dict[str, str]:
        return {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
            "Lambda-Runtime-Trace-Id": self.trace_id,
            "Content-Type": "application/json",
        }


@dataclass(slots=True)
class RestoreGate:
    """SnapStart: `GET /runtime/restore/next` blocks until a restore opens the gate (RIE restorenext.go)."""

    enabled: bool = False
    waiting: bool = False
    calls: int = 0
    called_at: float | None = None
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    error: tuple[str, bytes] | None = None


class RuntimeState:
    def __init__(self, notifier: Notifier, workers: int = 1) -> None:
        self._notifier = notifier
        self.concurrent = workers > 1
        self._idle: deque[asyncio.Future[Invocation]] = deque()
        self._unclaimed: deque[Invocation] = deque()
        self.in_flight: dict[str, Invocation] = {}
        self._timed_out: OrderedDict[str, None] = OrderedDict()
        self.next_calls = 0
        self.next_at: float | None = None
        self.current: Invocation | None = None
        """On-demand: the invocation the runtime holds until its next /next."""
        self.init_error: tuple[str, bytes] | None = None
        self.restore = RestoreGate()

    @property
    def idle_workers(self) -> int:
        return sum(not f.done() for f in self._idle)

    @property
    def waiting(self) -> bool:
        return self.idle_workers > 0

    async def next_invocation(self) -> Invocation:
        if not self.concurrent and self.waiting:
            raise ApiError(403, "InvalidStateTransition", "The runtime is already waiting on /next")
        self.next_calls += 1
        self.next_at = time.monotonic()
        if not self.concurrent:
            self.current = None
        if self._unclaimed:
            return self._claimed(self._unclaimed.popleft())
        slot: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()
        self._idle.append(slot)
        self._notifier.notify()
        try:
            invocation = await slot
        except asyncio.CancelledError:  # the worker went away while idle
            self._forget(slot)
            raise
        return self._claimed(invocation)

    def _claimed(self, invocation: Invocation) -> Invocation:
        invocation.released_at = time.monotonic()
        if not self.concurrent:
            self.current = invocation
        self._notifier.notify()
        return invocation

    def _forget(self, slot: asyncio.Future[Invocation]) -> None:
        if slot in self._idle:
            self._idle.remove(slot)
        if slot.done() and not slot.cancelled():
            self._unclaimed.appendleft(slot.result())  # handed over as the worker vanished: give it to the next
        self._notifier.notify()

    def release(self, invocation: Invocation) -> None:
        """Hand the invocation to an idle worker, or to the next /next."""
        self.in_flight[invocation.request_id] = invocation
        while self._idle:
            slot = self._idle.popleft()
            if not slot.done():
                slot.set_result(invocation)
                return
        self._unclaimed.append(invocation)

    def invocation(self, request_id: str) -> Invocation:
        if self.concurrent:
            return self._concurrent_invocation(request_id)
        current = self.current
        if current is None or current.request_id != request_id:
            raise ApiError(400, "InvalidRequestID", "Invalid request ID")
        if current.done.is_set():
            raise ApiError(403, "InvalidStateTransition", "A result was already posted for this request")
        return current

    def _concurrent_invocation(self, request_id: str) -> Invocation:
        invocation = self.in_flight.get(request_id)
        if invocation is None and request_id in self._timed_out:
            raise ApiError(410, "InvokeTimeout", "Invoke timeout")
        if invocation is None or invocation.done.is_set():
            raise ApiError(400, "InvalidRequestID", "Invalid request ID")
        return invocation

    def respond(self, invocation: Invocation, body: bytes, started_at: float, error_type: str | None) -> None:
        if len(body) > MAX_PAYLOAD_BYTES:
            message = f"Exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
            raise ApiError(413, "RequestEntityTooLarge", message)
        invocation.response_started_at = started_at
        invocation.response_ended_at = time.monotonic()
        invocation.response = body
        invocation.error_type = error_type
        invocation.done.set()
        self.in_flight.pop(invocation.request_id, None)
        self._notifier.notify()

    def time_out(self, invocation: Invocation) -> None:
        """LMI: the invoke failed with a timeout; its worker runs on, and a late answer gets 410."""
        self.in_flight.pop(invocation.request_id, None)
        self._timed_out[invocation.request_id] = None
        while len(self._timed_out) > TIMED_OUT_KEPT:
            self._timed_out.popitem(last=False)

    def report_init_error(self, error_type: str, body: bytes) -> None:
        self.init_error = (error_type or "Runtime.Unknown", body)
        self._notifier.notify()

    # -- SnapStart ---------------------------------------------------------------------------------------
    async def restore_next(self) -> None:
        gate = self.restore
        if not gate.enabled:
            raise ApiError(404, "NotFound", "restore/next is served to SnapStart functions only")
        if self.next_calls or gate.waiting or gate.opened.is_set():
            raise ApiError(403, "InvalidStateTransition", "restore/next is called once, before the first /next")
        gate.waiting = True
        gate.calls += 1
        gate.called_at = time.monotonic()
        self._notifier.notify()
        try:
            await gate.opened.wait()
        finally:
            gate.waiting = False

    def open_restore_gate(self) -> bool:
        """A restore releases the runtime's restore/next; False if the runtime was not waiting on it."""
        if not self.restore.waiting:
            return False
        self.restore.opened.set()
        return True

    def report_restore_error(self, error_type: str, body: bytes) -> None:
        if not self.restore.enabled:
            raise ApiError(404, "NotFound", "restore/error is served to SnapStart functions only")
        self.restore.error = (error_type, body)
        self._notifier.notify()
