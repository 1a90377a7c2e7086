"""Per function and version, from the loaded tables (load.py): what the seed's dashboard shows, and more.

Definitions (they decide what the numbers mean):
- invocations: distinct request ids in platform.start or platform.report; `reports` those with a report (the
  last report of an environment can be missing after a crash).
- duration: platform.report `durationMs` (runtime plus extensions); p50/p99 interpolate linearly between the
  closest ranks (DuckDB quantile_cont).
- PostRuntimeExtensionsDuration: the report's `extensionOverhead` span, else report - runtimeDone durationMs
  for the same request (Datadog's way), else unknown (Lambda Managed Instances have no runtimeDone).
- cold starts: platform.initReport, except SnapStart's: an initReport with initializationType `snap-start`,
  or from an instance that was restored (restored environments replay the snapshot's init events), is a
  replay, counted apart. platform.restoreReport counts restores; `re_inits` are inits with phase `invoke`
  (after a reset).
- timeouts: report status `timeout`; errors: other reports with status error/failure or an errorType;
  out_of_memory: errorType containing `OutOfMemory` (also counted in errors).
- extension counters: per instance, the metadata line of its highest sequence (counters as that batch was cut:
  its own events are counted received, not yet written), summed over instances; `missing_objects` are gaps
  in an instance's sequence numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import duckdb

Key = tuple[str, str]
COUNTERS: Final = ("received", "written", "dropped", "lambda_dropped", "parse_failures", "retries")
Row = dict[str, Any]

INVOKES: Final = """
CREATE OR REPLACE TEMP TABLE invokes AS
WITH reports AS (
    SELECT function_name, function_version, time,
        record->>'requestId' AS request_id,
        record->>'status' AS status,
        record->>'errorType' AS error_type,
        TRY_CAST(record->'metrics'->>'durationMs' AS DOUBLE) AS duration_ms,
        TRY_CAST(record->'metrics'->>'maxMemoryUsedMB' AS BIGINT) AS memory_used_mb,
        TRY_CAST(record->'metrics'->>'memorySizeMB' AS BIGINT) AS memory_size_mb,
        TRY_CAST(list_filter(TRY_CAST(record->'spans' AS JSON[]),
                             lambda s: s->>'name' = 'extensionOverhead')[1]->>'durationMs' AS DOUBLE) AS overhead_ms
    FROM events WHERE type = 'platform.report'
), runtime_done AS (
    SELECT function_name, function_version, record->>'requestId' AS request_id,
        max(TRY_CAST(record->'metrics'->>'durationMs' AS DOUBLE)) AS runtime_ms
    FROM events WHERE type = 'platform.runtimeDone' GROUP BY ALL
)
-- greatest() skips NULLs: without a runtimeDone (LMI) the difference must stay unknown, not 0
SELECT r.*, coalesce(r.overhead_ms, CASE WHEN d.runtime_ms IS NOT NULL
                                         THEN greatest(r.duration_ms - d.runtime_ms, 0) END) AS post_runtime_ms
FROM reports r LEFT JOIN runtime_done d USING (function_name, function_version, request_id)
"""

INITS: Final = """
CREATE OR REPLACE TEMP TABLE inits AS
WITH restored AS (SELECT DISTINCT instance_id FROM events WHERE type LIKE 'platform.restore%')
SELECT function_name, function_version, time,
    record->>'phase' AS phase,
    coalesce(record->>'status', 'success') AS status,
    TRY_CAST(record->'metrics'->>'durationMs' AS DOUBLE) AS duration_ms,
    coalesce(record->>'initializationType', '') <> 'snap-start'
        AND instance_id NOT IN (SELECT instance_id FROM restored) AS fresh
FROM events WHERE type = 'platform.initReport'
"""

QUERIES: Final[dict[str, str]] = {
    "invocations": """
        SELECT function_name, function_version,
            count(DISTINCT record->>'requestId') FILTER (type IN ('platform.start', 'platform.report')) AS invocations,
            strftime(min(time), '%Y-%m-%dT%H:%M:%S.%gZ') AS first_event,
            strftime(max(time), '%Y-%m-%dT%H:%M:%S.%gZ') AS last_event
        FROM events GROUP BY ALL""",
    "reports": """
        SELECT function_name, function_version, count(*) AS reports,
            avg(duration_ms) AS duration_avg, quantile_cont(duration_ms, 0.5) AS duration_p50,
            quantile_cont(duration_ms, 0.99) AS duration_p99, max(duration_ms) AS duration_max,
            count(post_runtime_ms) AS post_samples, avg(post_runtime_ms) AS post_avg,
            quantile_cont(post_runtime_ms, 0.99) AS post_p99, max(post_runtime_ms) AS post_max,
            max(memory_used_mb) AS memory_used_max, max(memory_size_mb) AS memory_size,
            count(DISTINCT memory_size_mb) AS memory_sizes,
            count(*) FILTER (status = 'timeout') AS timeouts,
            count(*) FILTER (status IS DISTINCT FROM 'timeout'
                             AND (status IN ('error', 'failure') OR error_type IS NOT NULL)) AS errors,
            count(*) FILTER (error_type ILIKE '%OutOfMemory%') AS out_of_memory
        FROM invokes GROUP BY ALL""",
    "cold_starts": """
        SELECT function_name, function_version, count(*) FILTER (fresh) AS cold_starts,
            count(*) FILTER (fresh AND phase = 'invoke') AS re_inits,
            count(*) FILTER (fresh AND status <> 'success') AS init_errors,
            avg(duration_ms) FILTER (fresh) AS init_avg, quantile_cont(duration_ms, 0.5) FILTER (fresh) AS init_p50,
            max(duration_ms) FILTER (fresh) AS init_max, count(*) FILTER (NOT fresh) AS snapshot_init_replays
        FROM inits GROUP BY ALL""",
    "restores": """
        SELECT function_name, function_version, count(*) AS restores,
            quantile_cont(TRY_CAST(record->'metrics'->>'durationMs' AS DOUBLE), 0.5) AS restore_p50,
            max(TRY_CAST(record->'metrics'->>'durationMs' AS DOUBLE)) AS restore_max
        FROM events WHERE type = 'platform.restoreReport' GROUP BY ALL""",
    "logs_dropped": """
        SELECT function_name, function_version, count(*) AS drop_events,
            sum(TRY_CAST(record->>'droppedRecords' AS BIGINT)) AS dropped_records,
            sum(TRY_CAST(record->>'droppedBytes' AS BIGINT)) AS dropped_bytes
        FROM events WHERE type = 'platform.logsDropped' GROUP BY ALL""",
    "extension": """
        WITH per_instance AS (
            SELECT function_name, function_version, instance_id, count(*) AS objects,
                sum(declared_events) AS declared_events,
                max(sequence) + 1 - count(DISTINCT sequence) AS missing_objects,
                arg_max({'received': received, 'written': written, 'dropped': dropped,
                         'lambda_dropped': lambda_dropped, 'parse_failures': parse_failures,
                         'retries': retries, 'objects': objects}, sequence) AS last
            FROM batches GROUP BY ALL
        )
        SELECT function_name, function_version, count(*) AS instances, sum(objects) AS objects,
            sum(declared_events) AS declared_events, sum(missing_objects) AS missing_objects,
            sum(last.received) AS received, sum(last.written) AS written, sum(last.dropped) AS dropped,
            sum(last.lambda_dropped) AS lambda_dropped, sum(last.parse_failures) AS parse_failures,
            sum(last.retries) AS retries
        FROM per_instance GROUP BY ALL""",
    "events": "SELECT function_name, function_version, count(*) AS events_in_s3 FROM events GROUP BY ALL",
}


def compute(connection: duckdb.DuckDBPyConnection) -> list[Row]:
    """One dict per function and version, sorted by invocations (most first), then name."""
    connection.execute(INVOKES)
    connection.execute(INITS)
    merged: dict[Key, Row] = {}
    for sql in QUERIES.values():
        for row in _rows(connection, sql):
            merged.setdefault((row["function_name"], row["function_version"]), {}).update(row)
    types = _rows(connection, "SELECT function_name, function_version, type, count(*) AS n FROM events GROUP BY ALL")
    shaped = [shape(values) for values in merged.values()]
    for item in shaped:
        item["event_types"] = {
            t["type"]: t["n"] for t in sorted(types, key=lambda t: (-t["n"], str(t["type"])))
            if (t["function_name"], t["function_version"]) == (item["function"], item["version"])
        }  # fmt: skip
    return sorted(shaped, key=lambda f: (-f["invocations"], f["function"], f["version"]))


def _rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    cursor = connection.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def shape(v: Row) -> Row:
    """The flat query columns as the report's nested figures (None where there was nothing to measure)."""
    get: Callable[[str], Any] = v.get
    count: Callable[[str], int] = lambda key: int(get(key) or 0)  # noqa: E731
    size, used = get("memory_size"), get("memory_used_max")
    reports = count("reports")
    return {
        "function": v["function_name"],
        "version": v["function_version"],
        "first_event": get("first_event"),
        "last_event": get("last_event"),
        "invocations": count("invocations"),
        "reports": reports,
        "reports_missing": max(0, count("invocations") - reports),
        "duration_ms": _stats(v, "duration", ("avg", "p50", "p99", "max")),
        "post_runtime_extensions_ms": {**_stats(v, "post", ("avg", "p99", "max")), "samples": count("post_samples")},
        "cold_starts": {
            "count": count("cold_starts"),
            "re_inits": count("re_inits"),
            "init_errors": count("init_errors"),
            "init_duration_ms": _stats(v, "init", ("avg", "p50", "max")),
            "snapshot_init_replays": count("snapshot_init_replays"),
        },
        "restores": {"count": count("restores"), "duration_ms": _stats(v, "restore", ("p50", "max"))},
        "memory_mb": {
            "max_used": used,
            "size": size,
            "used_pct": round(100 * used / size, 1) if used is not None and size else None,
            "sizes_seen": count("memory_sizes"),
        },
        "outcomes": {"timeouts": count("timeouts"), "errors": count("errors"), "out_of_memory": count("out_of_memory")},
        "lambda_logs_dropped": {
            "events": count("drop_events"),
            "records": count("dropped_records"),
            "bytes": count("dropped_bytes"),
        },
        "extension": {
            "instances": count("instances"),
            "objects": count("objects"),
            "events_in_s3": count("events_in_s3"),
            "events_declared": count("declared_events"),
            "missing_objects": count("missing_objects"),
            "counters": {k: count(k) for k in COUNTERS},
        },
    }  # fmt: skip


def _stats(values: Row, stem: str, names: tuple[str, ...]) -> dict[str, float | None]:
    return {name: _round(values.get(f"{stem}_{name}")) for name in names}


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)
