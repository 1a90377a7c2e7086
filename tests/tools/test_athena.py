"""Athena DDL: its text, a SQL parser's reading of it, and its views run (transpiled to DuckDB by sqlglot)
over objects the extension wrote, counting what the report counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from telemetry_tools.athena import HIVE_JSON_SERDE, LINE_SERDE, ddl, spec
from telemetry_tools.cli import main
from telemetry_tools.errors import ToolError
from telemetry_tools.report.build import build
from telemetry_tools.report.fetch import local_files
from telemetry_tools.settings import Destination
from tests.tools.athena_duckdb import athena_in_duckdb, statements
from tests.tools.recorded import Recording


def test_the_line_table_projects_every_partition_of_the_layout() -> None:
    text = ddl(spec(Destination("my-bucket", "team/telemetry"), "analytics", "tx", [], "2026-01-01", False))
    create, events, reports = statements(text)
    assert create.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `analytics`.`tx` (\n  `line` string\n)")
    assert f"ROW FORMAT SERDE '{LINE_SERDE}'" in create and "JsonSerDe" not in create
    assert "LOCATION 's3://my-bucket/team/telemetry/'" in create
    properties = dict(re.findall(r"'([a-z_.]+)' = '([^']*)'", create))
    assert properties == {
        "projection.enabled": "true",
        "projection.function_name.type": "injected",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2026-01-01,NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "projection.hour.type": "integer",
        "projection.hour.range": "0,23",
        "projection.hour.digits": "2",
        "storage.location.template": "s3://my-bucket/team/telemetry/function=${function_name}/dt=${dt}/hour=${hour}/",
    }
    assert '"analytics"."tx_events"' in events and "WHERE type = 'platform.report'" in reports


def test_named_functions_are_an_enum_and_platform_only_is_the_hive_json_serde() -> None:
    text = ddl(spec(Destination("b-1", ""), "default", "t", ["fn-a", "fn_b"], "2025-06-01", True))
    (create,) = statements(text)
    assert "'projection.function_name.type' = 'enum'" in create
    assert "'projection.function_name.values' = 'fn-a,fn_b'" in create
    assert f"ROW FORMAT SERDE '{HIVE_JSON_SERDE}'" in create and "LOCATION 's3://b-1/'" in create
    assert "metrics:struct<durationms:double" in create and "events:" not in create


@pytest.mark.parametrize("platform_only", [False, True])
def test_a_sql_parser_reads_every_statement(platform_only: bool) -> None:
    text = ddl(spec(Destination("my-bucket", "telemetry"), "default", "telemetry_ext", [], "2026-01-01", platform_only))
    parsed = [sqlglot.parse_one(statement, read="athena") for statement in statements(text)]
    assert all(isinstance(p, exp.Create) for p in parsed)
    assert [p.args["kind"] for p in parsed] == ["TABLE"] + (["VIEW", "VIEW"] if not platform_only else [])
    table = parsed[0]
    assert [c.name for c in table.this.expressions] == (["time", "type", "record"] if platform_only else ["line"])
    partitions = table.find(exp.PartitionedByProperty)
    assert partitions is not None and [c.name for c in partitions.this.expressions] == ["function_name", "dt", "hour"]


@pytest.mark.parametrize(
    ("database", "table", "functions", "since", "cause"),
    [
        ("Bad-Db", "t", [], "2026-01-01", "--database"),
        ("d", "1t", [], "2026-01-01", "--table"),
        ("d", "t", ["a b"], "2026-01-01", "--functions"),
        ("d", "t", [], "yesterday", "--since"),
    ],
)
def test_bad_names_are_refused(database: str, table: str, functions: list[str], since: str, cause: str) -> None:
    with pytest.raises(ToolError, match=cause):
        spec(Destination("b-1", "p"), database, table, functions, since, False)


def test_the_command_prints_the_ddl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["athena", "--bucket", "my-bucket", "--prefix", "/x//y/", "--functions", "f1"]) == 0
    assert "LOCATION 's3://my-bucket/x/y/'" in capsys.readouterr().out


@pytest.mark.integration
def test_the_views_count_what_the_report_counts_over_real_objects(recording: Recording, tmp_path: Path) -> None:
    # GIVEN the line table and its views over real objects (Athena's SQL, transpiled to DuckDB's)
    files = local_files(recording.folder)
    connection = athena_in_duckdb(files, Destination(recording.bucket, recording.prefix))
    # WHEN the reports view is queried THEN it has every report, with the durations the report gives
    figures = build(files, "recorded", tmp_path).report["functions"][0]
    count, longest, memory = connection.execute(
        "SELECT count(DISTINCT request_id), max(duration_ms), max(max_memory_used_mb) FROM telemetry_ext_reports"
    ).fetchone()  # type: ignore[misc]
    assert (count, longest, memory) == (
        figures["reports"],
        figures["duration_ms"]["max"],
        figures["memory_mb"]["max_used"],
    )
    types = dict(connection.execute("SELECT type, count(*) FROM telemetry_ext_events GROUP BY type").fetchall())
    assert types.pop("telemetry_ext.batch") == figures["extension"]["objects"]
    assert types == figures["event_types"]
