"""Cut buffered events into S3-ready batches: gzip NDJSON with one metadata line, under a deterministic key.

Pure: the caller passes the wall-clock time. A batch keeps its sequence number, key and bytes until it is
written, so a retried PUT (after a timeout, a reset connection or a freeze in mid-request) overwrites the same
object instead of adding a duplicate. Compressing and hashing (`Batch.payload`) is CPU work the caller may run
in a thread; it is done once per batch. Pending batches are bounded; when the bound is hit the oldest pending
batch is given up (its events counted as dropped), so under a long outage the newest data is what survives.

Object layout, Hive-partitioned so Athena and DuckDB can prune by function, day and hour:

    <prefix>/function=<name>/dt=YYYY-MM-DD/hour=HH/<instance>-<seq:08d>.ndjson.gz

Line 1 is `{"time", "type": "telemetry_ext.batch", "record": {...}}` with the extension's identity and its
counters at the moment the batch was cut; every further line is one Telemetry API event as received.
"""

from __future__ import annotations

import time

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.jsontext import dumps
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from collections import deque
else:  # collections.py itself imports keyword, operator, reprlib and heapq: start-up cost
    from _collections import deque

if TYPE_CHECKING:
    from typing import Final

    from telemetry_ext.events import DecodedBatch
    from telemetry_ext.pipeline.ring_buffer import RingBuffer

METADATA_TYPE: Final = "telemetry_ext.batch"
_SAFE: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._=-")
GZIP: Final = 31
"""zlib's window bits for a gzip container (header with mtime 0: the same bytes for the same lines)."""


class Identity(Record):
    """Who writes: constant for the life of one extension process (a SnapStart restore draws a new instance id)."""

    def __init__(
        self, extension_version: str, function_name: str, function_version: str, instance_id: str, prefix: str
    ) -> None:
        self.extension_version = extension_version
        self.function_name = function_name
        self.function_version = function_version
        self.instance_id = instance_id
        self.prefix = prefix


class Counters:
    """Running totals since the process started. They go into every batch and the shutdown summary."""

    __slots__ = ("dropped", "lambda_dropped", "objects", "parse_failures", "received", "retries", "written")

    def __init__(self) -> None:
        self.received = 0
        self.written = 0
        self.dropped = 0
        self.lambda_dropped = 0
        self.parse_failures = 0
        self.retries = 0
        self.objects = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received, "written": self.written, "dropped": self.dropped,
            "lambda_dropped": self.lambda_dropped, "parse_failures": self.parse_failures, "retries": self.retries,
            "objects": self.objects,
        }  # fmt: skip


class Payload(Record):
    def __init__(self, body: bytes, sha256_hex: str, sha256_base64: str) -> None:
        self.body = body
        self.sha256_hex = sha256_hex
        """What SigV4 signs (x-amz-content-sha256)."""
        self.sha256_base64 = sha256_base64
        """S3's checksum header (x-amz-checksum-sha256): buckets with Object Lock refuse a PUT without one."""


class Batch:
    __slots__ = ("_lines", "_payload", "create_only", "event_count", "key", "sequence")

    def __init__(self, sequence: int, key: str, event_count: int, create_only: bool, lines: list[bytes]) -> None:
        self.sequence = sequence
        self.key = key
        self.event_count = event_count
        self.create_only = create_only
        """Write it only if no object has its key (If-None-Match: *): the copies of one SnapStart snapshot each
        hold it, and exactly one of them must write it."""
        self._lines = lines
        self._payload: Payload | None = None

    def __repr__(self) -> str:
        return f"Batch({self.sequence}, {self.key!r}, {self.event_count} events)"

    def payload(self) -> Payload:
        """The gzip NDJSON body and its hashes, computed once (deterministic: gzip with mtime 0)."""
        if self._payload is None:
            # Imported here, when the first batch is written (in the writer's thread): not start-up's cost.
            import binascii
            import zlib

            from telemetry_ext.pipeline.digests import sha256

            body = zlib.compress(b"\n".join(self._lines) + b"\n", 6, GZIP)
            digest: bytes = sha256(body).digest()
            self._payload = Payload(body, digest.hex(), binascii.b2a_base64(digest, newline=False).decode())
            self._lines = []
        return self._payload

    @property
    def body(self) -> bytes:
        return self.payload().body


class Batcher:
    """Owns the buffer, the counters and the batches cut but not yet written."""

    __slots__ = ("_next_sequence", "_pending", "batch_max_bytes", "buffer", "counters", "identity", "max_pending")

    def __init__(self, buffer: RingBuffer, identity: Identity, batch_max_bytes: int, max_pending: int) -> None:
        self.buffer = buffer
        self.identity = identity
        self.batch_max_bytes = batch_max_bytes
        self.max_pending = max_pending
        self.counters = Counters()
        self._pending: deque[Batch] = deque()
        self._next_sequence = 0

    def ingest(self, decoded: DecodedBatch, arrival: float) -> None:
        counters = self.counters
        counters.received += len(decoded.lines)
        counters.parse_failures += decoded.malformed
        counters.lambda_dropped += decoded.lambda_dropped_records
        for line in decoded.lines:
            self.buffer.push(line, arrival)

    @property
    def pending(self) -> tuple[Batch, ...]:
        return tuple(self._pending)

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def unwritten_events(self) -> int:
        return len(self.buffer) + sum(b.event_count for b in self._pending)

    def cut(self, now: float, *, create_only: bool = False) -> None:
        """Move everything buffered into pending batches, each at most `batch_max_bytes` uncompressed."""
        while len(self.buffer):
            if len(self._pending) >= self.max_pending:
                given_up = self._pending.popleft()
                self.counters.dropped += given_up.event_count
            self._pending.append(self._make_batch(self.buffer.take(self.batch_max_bytes), now, create_only))

    def new_instance(self, instance_id: str) -> None:
        """Write under a new instance id from now on, from sequence 0 (after a SnapStart restore)."""
        self.identity = self.identity.replace(instance_id=instance_id)
        self._next_sequence = 0

    def mark_written(self, batch: Batch) -> None:
        """Forget a batch that is safely in S3. A batch given up meanwhile is not counted twice."""
        try:
            self._pending.remove(batch)
        except ValueError:
            return
        self.counters.written += batch.event_count
        self.counters.objects += 1

    def _make_batch(self, lines: list[bytes], now: float, create_only: bool) -> Batch:
        sequence = self._next_sequence
        self._next_sequence += 1
        self.counters.dropped += self.buffer.dropped
        self.buffer.dropped = 0
        header = dumps(
            {
                "time": iso_time(now),
                "type": METADATA_TYPE,
                "record": {
                    "extensionVersion": self.identity.extension_version,
                    "functionName": self.identity.function_name,
                    "functionVersion": self.identity.function_version,
                    "instanceId": self.identity.instance_id,
                    "sequence": sequence,
                    "events": len(lines),
                    "counters": self.counters.as_dict(),
                },
            }
        )
        key = object_key(self.identity, sequence, now)
        return Batch(sequence, key, len(lines), create_only, [header, *lines])

    def sync_drop_count(self) -> None:
        """Fold the buffer's drops into the counters (for a summary taken between cuts)."""
        self.counters.dropped += self.buffer.dropped
        self.buffer.dropped = 0


def iso_time(now: float) -> str:
    """`now` (seconds since the epoch) as Lambda writes event times: 2026-12-08T10:00:00.123Z."""
    seconds = int(now)
    micros = round((now - seconds) * 1e6)  # to the microsecond, as datetime.fromtimestamp rounds
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros // 1000:03d}Z"


def object_key(identity: Identity, sequence: int, now: float) -> str:
    """The batch's key, partitioned by the UTC day and hour of `now` (seconds since the epoch)."""
    parts = [*safe_segments(identity.prefix), f"function={safe_segment(identity.function_name)}"]
    parts.append(time.strftime("dt=%Y-%m-%d/hour=%H", time.gmtime(now)))
    parts.append(f"{safe_segment(identity.instance_id)}-{sequence:08d}.ndjson.gz")
    return "/".join(parts)


def safe_segment(text: str) -> str:
    """One key segment of letters, digits and `._=-` only; never empty, never `.` or `..`."""
    cleaned = "".join(c if c in _SAFE else "_" for c in text)
    while ".." in cleaned:  # a run of dots becomes one underscore
        start = cleaned.index("..")
        end = start
        while end < len(cleaned) and cleaned[end] == ".":
            end += 1
        cleaned = cleaned[:start] + "_" + cleaned[end:]
    return cleaned.strip(".") or "_"


def safe_segments(prefix: str) -> list[str]:
    """A user prefix as safe segments: no leading slash, no empty, `.` or `..` segment."""
    return [safe_segment(p) for p in prefix.split("/") if p.strip() and p.strip(".")]
