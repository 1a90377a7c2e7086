"""Cut buffered events into S3-ready batches: gzip NDJSON with one metadata line, under a deterministic key.

Pure: the caller passes the wall-clock time. A batch keeps its sequence number, key and bytes until it is
written, so a retried PUT (after a timeout, a reset connection or a freeze in mid-request) overwrites the same
object instead of adding a duplicate. Pending batches are bounded; when the bound is hit the oldest pending
batch is given up (its events counted as dropped), so under a long outage the newest data is what survives.

Object layout, Hive-partitioned so Athena and DuckDB can prune by function, day and hour:

    <prefix>/function=<name>/dt=YYYY-MM-DD/hour=HH/<instance>-<seq:08d>.ndjson.gz

Line 1 is `{"time", "type": "telemetry_ext.batch", "record": {...}}` with the extension's identity and its
counters at the moment the batch was cut; every further line is one Telemetry API event as received.
"""

from __future__ import annotations

import gzip
import re
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Final

import orjson

from telemetry_ext.events import DecodedBatch
from telemetry_ext.pipeline.ring_buffer import RingBuffer

METADATA_TYPE: Final = "telemetry_ext.batch"
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._=\-]")
_DOTS: Final = re.compile(r"\.{2,}")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who writes: constant for the life of one extension process."""

    extension_version: str
    function_name: str
    function_version: str
    instance_id: str
    prefix: str


@dataclass(slots=True)
class Counters:
    """Running totals since the process started. They go into every batch and the shutdown summary."""

    received: int = 0
    written: int = 0
    dropped: int = 0
    lambda_dropped: int = 0
    parse_failures: int = 0
    retries: int = 0
    objects: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Batch:
    sequence: int
    key: str
    body: bytes
    event_count: int


@dataclass(slots=True)
class Batcher:
    """Owns the buffer, the counters and the batches cut but not yet written."""

    buffer: RingBuffer
    identity: Identity
    batch_max_bytes: int
    max_pending: int
    counters: Counters = field(default_factory=Counters)
    _pending: deque[Batch] = field(default_factory=deque, repr=False)
    _next_sequence: int = 0

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
    def unwritten_events(self) -> int:
        return len(self.buffer) + sum(b.event_count for b in self._pending)

    def cut(self, now: float) -> None:
        """Move everything buffered into pending batches, each at most `batch_max_bytes` uncompressed."""
        while len(self.buffer):
            if len(self._pending) >= self.max_pending:
                given_up = self._pending.popleft()
                self.counters.dropped += given_up.event_count
            self._pending.append(self._make_batch(self.buffer.take(self.batch_max_bytes), now))

    def mark_written(self, batch: Batch) -> None:
        """Forget a batch that is safely in S3. A batch given up meanwhile is not counted twice."""
        try:
            self._pending.remove(batch)
        except ValueError:
            return
        self.counters.written += batch.event_count
        self.counters.objects += 1

    def _make_batch(self, lines: list[bytes], now: float) -> Batch:
        sequence = self._next_sequence
        self._next_sequence += 1
        moment = datetime.fromtimestamp(now, UTC)
        self.counters.dropped += self.buffer.dropped
        self.buffer.dropped = 0
        header = orjson.dumps(
            {
                "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "type": METADATA_TYPE,
                "record": {
                    "extensionVersion": self.identity.extension_version,
                    "functionName": self.identity.function_name,
                    "functionVersion": self.identity.function_version,
                    "instanceId": self.identity.instance_id,
                    "sequence": sequence,
                    "events": len(lines),
                    "counters": asdict(self.counters),
                },
            }
        )
        ndjson = b"\n".join([header, *lines]) + b"\n"
        body = gzip.compress(ndjson, compresslevel=6, mtime=0)
        return Batch(sequence, object_key(self.identity, sequence, moment), body, len(lines))

    def sync_drop_count(self) -> None:
        """Fold the buffer's drops into the counters (for a summary taken between cuts)."""
        self.counters.dropped += self.buffer.dropped
        self.buffer.dropped = 0


def object_key(identity: Identity, sequence: int, moment: datetime) -> str:
    parts = [*safe_segments(identity.prefix), f"function={safe_segment(identity.function_name)}"]
    parts += [f"dt={moment:%Y-%m-%d}", f"hour={moment:%H}"]
    parts.append(f"{safe_segment(identity.instance_id)}-{sequence:08d}.ndjson.gz")
    return "/".join(parts)


def safe_segment(text: str) -> str:
    """One key segment of letters, digits and `._=-` only; never empty, never `.` or `..`."""
    return _DOTS.sub("_", _UNSAFE.sub("_", text)).strip(".") or "_"


def safe_segments(prefix: str) -> list[str]:
    """A user prefix as safe segments: no leading slash, no empty, `.` or `..` segment."""
    return [safe_segment(p) for p in prefix.split("/") if p.strip() and p.strip(".")]
