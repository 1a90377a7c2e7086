"""Athena DDL for the extension's objects, with partition projection (no crawler, no MSCK REPAIR).

Layout: s3://<bucket>/<prefix>/function=<name>/dt=YYYY-MM-DD/hour=HH/<instance>-<seq>.ndjson.gz

The default table reads each line whole (LazySimpleSerDe: no JSON SerDe at all) and views parse it with
Athena's JSON functions. A JSON SerDe column has one type, and `record` has two: an object for platform
events and JSON-format logs, a string for plain-text logs. Trino's Hive JSON SerDe (Athena engine 3 is
built on Trino) rejects an object in a string column and a string in a struct column; Hive's own corrupts
the row; the OpenX SerDe is documented by AWS as possibly non-deterministic. Reading lines is deterministic
and survives record shapes and event types that do not exist yet.

`--platform-only` gives a typed Hive JSON SerDe table instead, for data written with
TELEMETRY_EXT_TYPES=platform, where every `record` is an object.

The partition column `function_name` (the key says `function=`) is projected as `enum` when the function
names are given (queries may omit it) and as `injected` otherwise (every query must filter on it with `=`).
`dt` is a date projected from `--since` to NOW, `hour` an integer 00-23.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from telemetry_tools.errors import ToolError
from telemetry_tools.settings import Destination

LINE_SERDE: Final = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
HIVE_JSON_SERDE: Final = "org.apache.hive.hcatalog.data.JsonSerDe"
_NAME: Final = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
_FUNCTION: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PLATFORM_RECORD: Final = (
    "struct<requestid:string,status:string,errortype:string,phase:string,initializationtype:string,"
    "functionname:string,functionversion:string,instanceid:string,version:string,"
    "metrics:struct<durationms:double,billeddurationms:bigint,memorysizemb:bigint,maxmemoryusedmb:bigint,"
    "initdurationms:double,restoredurationms:double,producedbytes:bigint>,"
    "spans:array<struct<name:string,start:string,durationms:double>>,"
    "droppedrecords:bigint,droppedbytes:bigint,reason:string,sequence:bigint,extensionversion:string,"
    "counters:struct<received:bigint,written:bigint,dropped:bigint,lambda_dropped:bigint,"
    "parse_failures:bigint,retries:bigint,objects:bigint>>"
)
"""Every platform field the report uses; unknown fields are skipped. `events` is left out: an integer in
the metadata line, a list in platform.extension."""


@dataclass(frozen=True, slots=True)
class TableSpec:
    destination: Destination
    database: str = "default"
    table: str = "telemetry_ext"
    functions: tuple[str, ...] = ()
    since: date = date(2025, 1, 1)
    platform_only: bool = False


def spec(destination: Destination, database: str, table: str, functions: Sequence[str], since: str,
         platform_only: bool) -> TableSpec:  # fmt: skip
    for label, name in (("--database", database), ("--table", table)):
        if not _NAME.match(name):
            raise ToolError(f"{label}: {name!r}: lower-case letters, digits and _, not starting with a digit")
    names = tuple(dict.fromkeys(f.strip() for f in functions if f.strip()))
    bad = [f for f in names if not _FUNCTION.match(f)]
    if bad:
        raise ToolError(f"--functions: {', '.join(bad)}: not Lambda function names")
    try:
        start = date.fromisoformat(since)
    except ValueError:
        raise ToolError(f"--since: {since!r} is not a date (YYYY-MM-DD)") from None
    return TableSpec(destination, database, table, names, start, platform_only)


def ddl(table: TableSpec) -> str:
    """CREATE TABLE (and, for the line table, the views), separated by blank lines, each ending with ';'."""
    statements = [_create(table)]
    if not table.platform_only:
        statements += [_events_view(table), _reports_view(table)]
    return "\n\n".join(statements) + "\n"


def location(destination: Destination) -> str:
    return f"s3://{destination.bucket}/{destination.key_root}"


def _create(table: TableSpec) -> str:
    name = f"`{table.database}`.`{table.table}`"
    if table.platform_only:
        columns = f"  `time` string,\n  `type` string,\n  `record` {PLATFORM_RECORD}"
        storage = f"ROW FORMAT SERDE '{HIVE_JSON_SERDE}'\nSTORED AS TEXTFILE"
    else:
        columns = "  `line` string"
        storage = (
            f"ROW FORMAT SERDE '{LINE_SERDE}'\n"
            "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n"
            "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'"
        )
    root = location(table.destination)
    properties = [("projection.enabled", "true"), *_function_projection(table.functions)]
    properties += [
        ("projection.dt.type", "date"),
        ("projection.dt.format", "yyyy-MM-dd"),
        ("projection.dt.range", f"{table.since.isoformat()},NOW"),
        ("projection.dt.interval", "1"),
        ("projection.dt.interval.unit", "DAYS"),
        ("projection.hour.type", "integer"),
        ("projection.hour.range", "0,23"),
        ("projection.hour.digits", "2"),
        ("storage.location.template", root + "function=${function_name}/dt=${dt}/hour=${hour}/"),
    ]
    rendered = ",\n".join(f"  '{key}' = '{value}'" for key, value in properties)
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {name} (\n{columns}\n)\n"
        "PARTITIONED BY (`function_name` string, `dt` string, `hour` string)\n"
        f"{storage}\nLOCATION '{root}'\nTBLPROPERTIES (\n{rendered}\n);"
    )


def _function_projection(functions: tuple[str, ...]) -> list[tuple[str, str]]:
    if functions:
        return [("projection.function_name.type", "enum"), ("projection.function_name.values", ",".join(functions))]
    return [("projection.function_name.type", "injected")]


def _events_view(table: TableSpec) -> str:
    return (
        f'CREATE OR REPLACE VIEW "{table.database}"."{table.table}_events" AS\n'
        "SELECT\n"
        "  from_iso8601_timestamp(json_extract_scalar(line, '$.time')) AS time,\n"
        "  json_extract_scalar(line, '$.type') AS type,\n"
        "  json_extract(line, '$.record') AS record,\n"
        '  "$path" AS object,\n'
        "  function_name,\n  dt,\n  hour\n"
        f'FROM "{table.database}"."{table.table}";'
    )


REPORT_COLUMNS: Final = (
    ("request_id", "varchar", "$.requestId"),
    ("status", "varchar", "$.status"),
    ("error_type", "varchar", "$.errorType"),
    ("duration_ms", "double", "$.metrics.durationMs"),
    ("billed_duration_ms", "bigint", "$.metrics.billedDurationMs"),
    ("init_duration_ms", "double", "$.metrics.initDurationMs"),
    ("memory_size_mb", "bigint", "$.metrics.memorySizeMB"),
    ("max_memory_used_mb", "bigint", "$.metrics.maxMemoryUsedMB"),
)


def _reports_view(table: TableSpec) -> str:
    columns = ",\n".join(
        f"  CAST(json_extract_scalar(record, '{path}') AS {sql_type}) AS {name}"
        for name, sql_type, path in REPORT_COLUMNS
    )
    return (
        f'CREATE OR REPLACE VIEW "{table.database}"."{table.table}_reports" AS\n'
        f"SELECT\n  time,\n  function_name,\n  dt,\n  hour,\n{columns}\n"
        f'FROM "{table.database}"."{table.table}_events"\nWHERE type = \'platform.report\';'
    )
