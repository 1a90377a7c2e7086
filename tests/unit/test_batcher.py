import base64
import gzip
import hashlib
from datetime import UTC, datetime

import orjson

from telemetry_ext.events import decode_batch
from telemetry_ext.pipeline.batcher import METADATA_TYPE, Batch, Batcher, Identity, object_key, safe_segments
from telemetry_ext.pipeline.ring_buffer import RingBuffer

NOW = datetime(2026, 11, 22, 13, 5, tzinfo=UTC).timestamp()
IDENTITY = Identity("0.1.0", "orders-api", "$LATEST", "abc123", "logs/lambda")


def make_batcher(max_events: int = 100, batch_max_bytes: int = 10_000, max_pending: int = 4) -> Batcher:
    return Batcher(RingBuffer(max_events, 1_000_000), IDENTITY, batch_max_bytes, max_pending)


def events(n: int, start: int = 0) -> bytes:
    return orjson.dumps([{"time": "t", "type": "function", "record": f"line {i}"} for i in range(start, start + n)])


def lines_of(batch: Batch) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in gzip.decompress(batch.body).splitlines()]


def test_a_batch_is_gzip_ndjson_with_a_metadata_line_first() -> None:
    batcher = make_batcher()
    batcher.ingest(decode_batch(events(3)), arrival=0.0)
    batcher.cut(NOW)
    (batch,) = batcher.pending
    header, *rest = lines_of(batch)
    assert header["type"] == METADATA_TYPE
    record = header["record"]
    assert isinstance(record, dict)
    assert record["functionName"] == "orders-api" and record["instanceId"] == "abc123"
    assert record["sequence"] == 0 and record["events"] == 3
    assert record["counters"]["received"] == 3
    assert [e["record"] for e in rest] == ["line 0", "line 1", "line 2"]
    assert batch.key == "logs/lambda/function=orders-api/dt=2026-11-22/hour=13/abc123-00000000.ndjson.gz"


def test_the_same_events_give_the_same_bytes_so_a_retried_put_is_identical() -> None:
    first, second = make_batcher(), make_batcher()
    for batcher in (first, second):
        batcher.ingest(decode_batch(events(5)), 0.0)
        batcher.cut(NOW)
    assert first.pending[0].body == second.pending[0].body
    assert first.pending[0].key == second.pending[0].key


def test_batches_are_size_capped_and_numbered_in_order() -> None:
    batcher = make_batcher(batch_max_bytes=200)
    batcher.ingest(decode_batch(events(10)), 0.0)
    batcher.cut(NOW)
    batches = batcher.pending
    assert len(batches) > 1
    assert [b.sequence for b in batches] == list(range(len(batches)))
    assert sum(b.event_count for b in batches) == 10


def test_written_batches_are_counted_once() -> None:
    batcher = make_batcher()
    batcher.ingest(decode_batch(events(4)), 0.0)
    batcher.cut(NOW)
    (batch,) = batcher.pending
    batcher.mark_written(batch)
    batcher.mark_written(batch)
    assert batcher.counters.written == 4 and batcher.counters.objects == 1
    assert batcher.pending == () and batcher.unwritten_events == 0


def test_when_pending_is_full_the_oldest_batch_is_given_up_and_counted() -> None:
    batcher = make_batcher(max_pending=2)
    for i in range(3):
        batcher.ingest(decode_batch(events(2, start=10 * i)), 0.0)
        batcher.cut(NOW)
    assert [b.sequence for b in batcher.pending] == [1, 2]
    assert batcher.counters.dropped == 2
    assert lines_of(batcher.pending[-1])[0]["record"]["counters"]["dropped"] == 2  # type: ignore[index]


def test_counters_include_ring_drops_lambda_drops_and_parse_failures() -> None:
    batcher = make_batcher(max_events=3)
    batcher.ingest(decode_batch(events(5)), 0.0)
    dropped = [{"time": "t", "type": "platform.logsDropped", "record": {"droppedRecords": 7, "droppedBytes": 1}}]
    batcher.ingest(decode_batch(orjson.dumps(dropped)), 0.0)
    batcher.ingest(decode_batch(b"garbage"), 0.0)
    batcher.cut(NOW)
    counters = lines_of(batcher.pending[0])[0]["record"]["counters"]  # type: ignore[index]
    assert counters["received"] == 6
    assert counters["dropped"] == 3
    assert counters["lambda_dropped"] == 7
    assert counters["parse_failures"] == 1


def test_keys_are_safe_whatever_the_names() -> None:
    identity = Identity("0.1.0", "../../etc/passwd", "1", "i/../d", "/../a//./b/..")
    key = object_key(identity, 7, datetime(2026, 1, 2, 3, tzinfo=UTC).timestamp())
    assert not key.startswith("/")
    assert ".." not in key
    assert "//" not in key
    assert key.startswith("a/b/function=")
    assert safe_segments("///") == []


def test_the_payload_is_computed_once_with_its_hashes_and_the_lines_let_go() -> None:
    batcher = make_batcher()
    batcher.ingest(decode_batch(events(3)), 0.0)
    batcher.cut(NOW)
    (batch,) = batcher.pending
    payload = batch.payload()
    assert batch.payload() is payload
    assert payload.sha256_hex == hashlib.sha256(payload.body).hexdigest()
    assert base64.b64decode(payload.sha256_base64) == hashlib.sha256(payload.body).digest()
    assert [e["record"] for e in lines_of(batch)[1:]] == ["line 0", "line 1", "line 2"]


def test_a_new_instance_id_starts_a_new_key_space_and_create_only_marks_the_batches_cut() -> None:
    # GIVEN a snapshot's buffered events, cut create-only under the snapshot's id at a restore
    batcher = make_batcher()
    batcher.ingest(decode_batch(events(2)), 0.0)
    batcher.cut(NOW, create_only=True)
    batcher.new_instance("restored1")
    batcher.ingest(decode_batch(events(2, start=2)), 0.0)
    batcher.cut(NOW)
    first, second = batcher.pending
    # THEN the snapshot's batch keeps its id and is create-only; the restored copy writes under its own id from 0
    assert first.create_only and first.key.endswith("abc123-00000000.ndjson.gz")
    assert not second.create_only and second.key.endswith("restored1-00000000.ndjson.gz")
    assert lines_of(second)[0]["record"]["instanceId"] == "restored1"  # type: ignore[index]
