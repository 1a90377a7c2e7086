"""The Telemetry API's delivery side: events, subscribers, batching, retries, drops (lambda-api.md §2).

Everything emitted during init is kept and replayed to each subscriber. A subscriber's queue is flushed as a
JSON array when it reaches `maxItems` or `maxBytes`, or `timeoutMs` after its first event; a failed POST is
retried with backoff, one batch in flight. When a slow subscriber's queue passes its cap the oldest events are
dropped and a `platform.logsDropped` event says how many. Nothing is delivered while the environment is frozen.

Each subscriber gets the records of its own `schemaVersion` (schemas.py). With the JSON log format a log line
that is a JSON object becomes that object (schemas 2022-12-13 and later). A POST goes to the environment's
address with `Host` as subscribed (`sandbox.localdomain:PORT`; what real Lambda sends is UNCONFIRMED).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
import orjson

from lambda_emulator.telemetry.schemas import NEWEST, shaped

DROP_REASON: Final = "Some logs were dropped because the downstream consumer is slower than the logs production rate"
POST_TIMEOUT_S: Final = 30.0
QUEUE_CAP_BYTES: Final = 8 * 1024 * 1024
"""A subscriber's queue beyond which the oldest events are dropped (Lambda's real threshold is unpublished)."""


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def category(event_type: str) -> str:
    return "platform" if event_type.startswith("platform.") else event_type


@dataclass(slots=True)
class Subscription:
    name: str
    types: frozenset[str]
    url: str
    max_items: int
    max_bytes: int
    timeout_s: float
    schema: str = NEWEST
    host: str = ""
    """The `Host` header of each delivery (the subscribed URI's host and port)."""


@dataclass(slots=True)
class Subscriber:
    subscription: Subscription
    queue: deque[tuple[bytes, int]] = field(default_factory=deque)
    queued_bytes: int = 0
    first_at: float | None = None
    dropped_records: int = 0
    dropped_bytes: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while nothing is queued or in flight."""
    task: asyncio.Task[None] | None = None


Emitted = tuple[dict[str, Any], str | None]
"""An event in the newest shape, and a log record's line as written (for 2022-07-01 subscribers)."""


class TelemetryHub:
    def __init__(
        self, session: aiohttp.ClientSession, queue_cap_bytes: int = QUEUE_CAP_BYTES, json_logs: bool = False
    ) -> None:
        self._session = session
        self._queue_cap = queue_cap_bytes
        self._json_logs = json_logs
        self._init_backlog: list[Emitted] | None = []
        self._subscribers: list[Subscriber] = []
        self._running = asyncio.Event()
        self._running.set()
        self.emitted: list[dict[str, Any]] = []
        """Every event emitted (newest schema), for tests and measurements."""

    def emit(self, event_type: str, record: object, line: str | None = None) -> dict[str, Any]:
        event = {"time": now_iso(), "type": event_type, "record": record}
        self.emitted.append(event)
        if self._init_backlog is not None:
            self._init_backlog.append((event, line))
        encoded: dict[str, bytes] = {}
        for subscriber in self._subscribers:
            if category(event_type) in subscriber.subscription.types:
                self._enqueue(subscriber, event, line, encoded)
        return event

    def emit_log(self, kind: str, line: str) -> None:
        """One line a process wrote: a `function` or `extension` record."""
        record: object = line
        if self._json_logs and line.lstrip().startswith("{"):
            try:
                parsed = orjson.loads(line)
            except orjson.JSONDecodeError:
                parsed = None
            record = parsed if isinstance(parsed, dict) else line
        self.emit(kind, record, line)

    def subscribe(self, subscription: Subscription) -> None:
        subscriber = Subscriber(subscription)
        self._subscribers.append(subscriber)
        for event, line in self._init_backlog or ():
            if category(event["type"]) in subscription.types:
                self._enqueue(subscriber, event, line, {})
        if not subscriber.queue:
            subscriber.idle.set()
        subscriber.task = asyncio.create_task(self._deliver_loop(subscriber))

    def reopen_init(self) -> None:
        """A re-init after a reset: the old subscribers are gone with their processes; keep events anew."""
        for subscriber in self._subscribers:
            if subscriber.task is not None:
                subscriber.task.cancel()
        self._subscribers.clear()
        self._init_backlog = []

    def close_init(self) -> None:
        """Init is over: stop keeping events for replay."""
        self._init_backlog = None

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    async def drained(self, timeout_s: float, gone: frozenset[str] = frozenset()) -> bool:
        """Wait until every queue is empty (delivered); False if that took longer than `timeout_s`. Subscribers
        named in `gone` (extensions that have exited) are not waited for: nobody is left to receive theirs."""
        waits = [asyncio.ensure_future(s.idle.wait()) for s in self._subscribers if s.subscription.name not in gone]
        if not waits:
            return True
        _, pending = await asyncio.wait(waits, timeout=timeout_s)
        for waiter in pending:
            waiter.cancel()
        return not pending

    async def close(self) -> None:
        for subscriber in self._subscribers:
            if subscriber.task is not None:
                subscriber.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await subscriber.task
        self._subscribers.clear()

    def held(self) -> list[tuple[Subscriber, list[bytes]]]:
        """Per subscriber, the events not yet sent: what a SnapStart snapshot keeps in the platform's buffers."""
        return [(s, [encoded for encoded, _ in s.queue]) for s in self._subscribers]

    def requeue(self, held: list[tuple[Subscriber, list[bytes]]]) -> None:
        """Queue those events again (a second restore of the same snapshot has them in its buffers too)."""
        for subscriber, events in held:
            if subscriber in self._subscribers:
                for encoded in events:
                    self._append(subscriber, encoded)

    def _enqueue(
        self, subscriber: Subscriber, event: dict[str, Any], line: str | None, encoded: dict[str, bytes]
    ) -> None:
        """Queue `event` in the subscriber's schema (`encoded` caches each schema's bytes of this event)."""
        schema = subscriber.subscription.schema
        if schema not in encoded:
            encoded[schema] = orjson.dumps(shaped(event, line, schema))
        self._append(subscriber, encoded[schema])

    def _append(self, subscriber: Subscriber, encoded: bytes) -> None:
        subscriber.queue.append((encoded, len(encoded)))
        subscriber.queued_bytes += len(encoded)
        subscriber.idle.clear()
        while subscriber.queued_bytes > self._queue_cap and len(subscriber.queue) > 1:
            _, size = subscriber.queue.popleft()
            subscriber.queued_bytes -= size
            subscriber.dropped_records += 1
            subscriber.dropped_bytes += size
        if subscriber.first_at is None:
            subscriber.first_at = asyncio.get_running_loop().time()
        subscriber.changed.set()

    async def _deliver_loop(self, subscriber: Subscriber) -> None:
        loop = asyncio.get_running_loop()
        sub = subscriber.subscription
        while True:
            await subscriber.changed.wait()
            subscriber.changed.clear()
            if not subscriber.queue:
                continue
            assert subscriber.first_at is not None
            full = len(subscriber.queue) >= sub.max_items or subscriber.queued_bytes >= sub.max_bytes
            left = subscriber.first_at + sub.timeout_s - loop.time()
            if not full and left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(subscriber.changed.wait(), left)
                subscriber.changed.set()
                continue
            await self._running.wait()
            self._report_drops(subscriber)
            await self._post_with_retry(subscriber, self._take_batch(subscriber))
            if subscriber.queue:
                subscriber.changed.set()
            else:
                subscriber.idle.set()

    def _report_drops(self, subscriber: Subscriber) -> None:
        if subscriber.dropped_records and "platform" in subscriber.subscription.types:
            record = {
                "droppedRecords": subscriber.dropped_records,
                "droppedBytes": subscriber.dropped_bytes,
                "reason": DROP_REASON,
            }
            subscriber.dropped_records = subscriber.dropped_bytes = 0
            event = orjson.dumps({"time": now_iso(), "type": "platform.logsDropped", "record": record})
            subscriber.queue.appendleft((event, len(event)))
            subscriber.queued_bytes += len(event)

    def _take_batch(self, subscriber: Subscriber) -> bytes:
        sub = subscriber.subscription
        parts: list[bytes] = []
        size = 0
        while subscriber.queue and len(parts) < sub.max_items:
            encoded, length = subscriber.queue[0]
            if parts and size + length > sub.max_bytes:
                break
            subscriber.queue.popleft()
            subscriber.queued_bytes -= length
            parts.append(encoded)
            size += length
        subscriber.first_at = asyncio.get_running_loop().time() if subscriber.queue else None
        return b"[" + b",".join(parts) + b"]"

    async def _post_with_retry(self, subscriber: Subscriber, body: bytes) -> None:
        backoff = 0.05
        while True:
            await self._running.wait()
            try:
                async with self._session.post(
                    subscriber.subscription.url,
                    data=body,
                    headers=_headers(subscriber.subscription),
                    timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT_S),
                ) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)


def _headers(subscription: Subscription) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if subscription.host:
        headers["Host"] = subscription.host
    return headers
