"""The dashboard's figures over time, per function and version, in buckets sized to the data (at most
about 60 per panel): what the seed's CloudWatch dashboard plots, from the report's tables (figures.py)."""

from __future__ import annotations

from typing import Any, Final

import duckdb

BUCKET_SECONDS: Final = (1, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)
MAX_BUCKETS: Final = 60


def bucket_seconds(span_seconds: float) -> int:
    """The smallest width from BUCKET_SECONDS that cuts `span_seconds` into at most MAX_BUCKETS buckets."""
    return next((w for w in BUCKET_SECONDS if span_seconds / w <= MAX_BUCKETS), BUCKET_SECONDS[-1])


def compute(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """{'bucket_seconds': w, 'functions': {'name version': {'invokes': [...], 'inits': [...]}}} where each
    point has `t` (epoch seconds of the bucket's start) and the bucket's figures."""
    span = connection.execute(
        "SELECT epoch(max(time)) - epoch(min(time)) FROM (SELECT time FROM invokes UNION ALL SELECT time FROM inits)"
    ).fetchone()
    width = bucket_seconds(float(span[0] or 0) if span else 0.0)
    bucket = f"epoch(time_bucket(INTERVAL '{width} seconds', time))"
    invokes = _rows(
        connection,
        f"""SELECT function_name, function_version, {bucket} AS t, count(*) AS invocations,
            avg(duration_ms) AS duration_avg, max(duration_ms) AS duration_max,
            avg(post_runtime_ms) AS post_avg, max(post_runtime_ms) AS post_max,
            max(memory_used_mb) AS memory_used_max, max(memory_size_mb) AS memory_size
        FROM invokes WHERE time IS NOT NULL GROUP BY ALL ORDER BY t""",
    )
    inits = _rows(
        connection,
        f"""SELECT function_name, function_version, {bucket} AS t, count(*) AS cold_starts,
            avg(duration_ms) AS init_avg, max(duration_ms) AS init_max
        FROM inits WHERE fresh AND time IS NOT NULL GROUP BY ALL ORDER BY t""",
    )
    functions: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for kind, rows in (("invokes", invokes), ("inits", inits)):
        for row in rows:
            name = f"{row.pop('function_name')} {row.pop('function_version')}"
            functions.setdefault(name, {"invokes": [], "inits": []})[kind].append(row)
    return {"bucket_seconds": width, "functions": functions}


def _rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = connection.execute(sql)
    names = [column[0] for column in cursor.description]
    return [
        {name: round(value, 3) if isinstance(value, float) else value for name, value in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]
