"""Read the objects into DuckDB with explicit columns, never inferred ones.

`read_json_auto` infers `record` from the first lines: 30,000 object records then one plain-text log line
fail with "Expected OBJECT, but got VARCHAR". Here `record` is JSON (object or string alike), `time` text
(cast where used), and every line keeps the object it came from. Tables:

    raw      object, line_time, type, record          every line as read
    batches  one row per object's metadata line       who wrote it (function, version, instance) and counters
    events   one row per Telemetry API event           with its writer's function, version and instance,
                                                       exact duplicates within an instance removed

An object that cannot be read whole (not gzip, truncated) is set aside and counted, not fatal.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb

METADATA_TYPE: Final = "telemetry_ext.batch"
MAX_LINE_BYTES: Final = 128 * 1024 * 1024
"""Above the extension's largest telemetry POST (64 MiB): one line is one event."""


@dataclass(frozen=True, slots=True)
class Loaded:
    connection: duckdb.DuckDBPyConnection
    objects: int
    unreadable: tuple[str, ...]
    duplicates: int


def load(files: Sequence[Path]) -> Loaded:
    """Every object in `files` into a fresh in-memory database."""
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")  # times are UTC in the data and in the report
    readable = [str(f) for f in files]
    unreadable: list[str] = []
    try:
        _read(connection, readable)
    except duckdb.Error:
        unreadable = [f for f in readable if not _gzip_ok(f)]
        readable = [f for f in readable if f not in set(unreadable)]
        _read(connection, readable)
    connection.execute(BATCHES)
    before = _count(connection, f"SELECT count(*) FROM raw WHERE type IS DISTINCT FROM '{METADATA_TYPE}'")
    connection.execute(EVENTS)
    duplicates = before - _count(connection, "SELECT count(*) FROM events")
    return Loaded(connection, len(readable), tuple(unreadable), duplicates)


def _read(connection: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    connection.execute("DROP TABLE IF EXISTS raw")
    if not files:
        connection.execute("CREATE TABLE raw (object VARCHAR, line_time VARCHAR, type VARCHAR, record JSON)")
        return
    connection.execute(
        "CREATE TABLE raw AS SELECT filename AS object, time AS line_time, type, record FROM read_json(?, "
        "format = 'newline_delimited', compression = 'gzip', filename = true, ignore_errors = true, "
        f"maximum_object_size = {MAX_LINE_BYTES}, "
        "columns = {'time': 'VARCHAR', 'type': 'VARCHAR', 'record': 'JSON'})",
        [files],
    )


def _gzip_ok(path: str) -> bool:
    try:
        with gzip.open(path) as stream:
            while stream.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error):
        return False
    return True


def _count(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = connection.execute(sql).fetchone()
    return int(row[0]) if row else 0


BATCHES: Final = f"""
CREATE TABLE batches AS
SELECT
    object,
    coalesce(record->>'functionName', regexp_extract(object, 'function=([^/]+)/', 1)) AS function_name,
    coalesce(record->>'functionVersion', '?') AS function_version,
    coalesce(record->>'instanceId', object) AS instance_id,
    TRY_CAST(record->>'sequence' AS BIGINT) AS sequence,
    TRY_CAST(record->>'events' AS BIGINT) AS declared_events,
    TRY_CAST(record->'counters'->>'received' AS BIGINT) AS received,
    TRY_CAST(record->'counters'->>'written' AS BIGINT) AS written,
    TRY_CAST(record->'counters'->>'dropped' AS BIGINT) AS dropped,
    TRY_CAST(record->'counters'->>'lambda_dropped' AS BIGINT) AS lambda_dropped,
    TRY_CAST(record->'counters'->>'parse_failures' AS BIGINT) AS parse_failures,
    TRY_CAST(record->'counters'->>'retries' AS BIGINT) AS retries,
    TRY_CAST(record->'counters'->>'objects' AS BIGINT) AS objects
FROM raw
WHERE type = '{METADATA_TYPE}' AND json_type(record) = 'OBJECT'
QUALIFY row_number() OVER (PARTITION BY object ORDER BY line_time) = 1
"""

# An object without a metadata line (not written by the extension, or its first line lost) still counts,
# under the function its key names and version '?'.
EVENTS: Final = f"""
CREATE TABLE events AS
SELECT
    coalesce(b.function_name, regexp_extract(r.object, 'function=([^/]+)/', 1), '?') AS function_name,
    coalesce(b.function_version, '?') AS function_version,
    coalesce(b.instance_id, r.object) AS instance_id,
    TRY_CAST(r.line_time AS TIMESTAMPTZ) AS time,
    r.type,
    r.record,
    r.object
FROM raw r LEFT JOIN batches b USING (object)
WHERE r.type IS DISTINCT FROM '{METADATA_TYPE}'
QUALIFY row_number() OVER (
    PARTITION BY coalesce(b.instance_id, r.object), r.type, r.line_time, CAST(r.record AS VARCHAR)
    ORDER BY r.object
) = 1
"""
