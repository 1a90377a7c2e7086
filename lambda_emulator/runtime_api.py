"""Runtime API 2018-06-01 state: the runtime's /next, its response or error, init errors (lambda-api.md §4)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Final

from lambda_emulator.errors import ApiError
from lambda_emulator.notify import Notifier

MAX_PAYLOAD_BYTES: Final = 6 * 1024 * 1024 + 100


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


class RuntimeState:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._inbox: asyncio.Queue[Invocation] = asyncio.Queue()
        self.waiting = False
        self.next_calls = 0
        self.next_at: float | None = None
        self.current: Invocation | None = None
        self.init_error: tuple[str, bytes] | None = None

    async def next_invocation(self) -> Invocation:
        if self.waiting:
            raise ApiError(403, "InvalidStateTransition", "The runtime is already waiting on /next")
        self.waiting = True
        self.next_calls += 1
        self.next_at = time.monotonic()
        self.current = None
        self._notifier.notify()
        try:
            invocation = await self._inbox.get()
        finally:
            self.waiting = False
        invocation.released_at = time.monotonic()
        self.current = invocation
        return invocation

    def release(self, invocation: Invocation) -> None:
        self._inbox.put_nowait(invocation)

    def invocation(self, request_id: str) -> Invocation:
        current = self.current
        if current is None or current.request_id != request_id:
            raise ApiError(400, "InvalidRequestID", "Invalid request ID")
        if current.done.is_set():
            raise ApiError(403, "InvalidStateTransition", "A result was already posted for this request")
        return current

    def respond(self, invocation: Invocation, body: bytes, started_at: float, error_type: str | None) -> None:
        if len(body) > MAX_PAYLOAD_BYTES:
            message = f"Exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
            raise ApiError(413, "RequestEntityTooLarge", message)
        invocation.response_started_at = started_at
        invocation.response_ended_at = time.monotonic()
        invocation.response = body
        invocation.error_type = error_type
        invocation.done.set()
        self._notifier.notify()

    def report_init_error(self, error_type: str, body: bytes) -> None:
        self.init_error = (error_type or "Runtime.Unknown", body)
        self._notifier.notify()
