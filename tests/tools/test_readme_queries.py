"""Every query of the README's read-back sections, run against objects the extension wrote: the DuckDB ones
as they are (the path replaced), the Athena one over the DDL's views stood up in DuckDB."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from telemetry_tools.report.build import build
from telemetry_tools.report.fetch import local_files
from telemetry_tools.settings import Destination
from tests.support.layers import REPO
from tests.tools.athena_duckdb import athena_in_duckdb, trino_to_duckdb
from tests.tools.recorded import FUNCTION, Recording

pytestmark = pytest.mark.integration
README_PATH = "'report/objects/**/*.ndjson.gz'"


def sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", (REPO / "README.md").read_text(), re.S)


def duckdb_queries() -> list[str]:
    return [block for block in sql_blocks() if "read_json(" in block]


@pytest.fixture(scope="module")
def figures(recording: Recording, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    report = build(local_files(recording.folder), "recorded", tmp_path_factory.mktemp("report")).report
    (only,) = report["functions"]
    assert isinstance(only, dict)
    return only


def run(query: str, folder: Path) -> duckdb.DuckDBPyConnection:
    assert README_PATH in query and "read_json_auto" not in query
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE result AS " + query.replace(README_PATH, f"'{folder}/**/*.ndjson.gz'").rstrip(";\n ")
    )
    return connection


def one(connection: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = connection.execute(sql).fetchone()
    assert row is not None
    return tuple(row)


def test_the_readme_has_the_queries_this_test_knows() -> None:
    assert [q.splitlines()[0] for q in duckdb_queries()] == [
        "-- every invocation: duration and PostRuntimeExtensionsDuration",
        "-- the dashboard by hour: invocations, duration avg/max, memory used",
        "-- function logs, plain-text (a string record) or JSON (an object record)",
        "-- cold starts and their init duration",
    ]


def test_every_invocation(recording: Recording, figures: dict[str, Any]) -> None:
    result = run(duckdb_queries()[0], recording.folder)
    count, requests, function, post_max, duration_max = one(
        result, "SELECT count(*), count(DISTINCT request), any_value(function), max(post_runtime_ms), "
        "max(duration_ms) FROM result"
    )  # fmt: skip
    assert count == requests == figures["reports"] and function == FUNCTION
    assert (post_max, duration_max) == (figures["post_runtime_extensions_ms"]["max"], figures["duration_ms"]["max"])


def test_the_dashboard_by_hour(recording: Recording, figures: dict[str, Any]) -> None:
    result = run(duckdb_queries()[1], recording.folder)
    invocations, duration_max, memory = one(
        result, "SELECT sum(invocations), max(duration_max_ms), max(memory_used_mb) FROM result"
    )
    assert (invocations, duration_max, memory) == (
        figures["reports"],
        figures["duration_ms"]["max"],
        figures["memory_mb"]["max_used"],
    )


def test_function_logs_of_both_shapes(recording: Recording, figures: dict[str, Any]) -> None:
    result = run(duckdb_queries()[2], recording.folder)
    lines, messages = one(result, "SELECT count(*), count(message) FROM result")
    assert lines == messages == figures["event_types"]["function"] > 0


def test_cold_starts(recording: Recording, figures: dict[str, Any]) -> None:
    result = run(duckdb_queries()[3], recording.folder)
    assert one(result, "SELECT sum(cold_starts), max(init_max_ms) FROM result") == (
        figures["cold_starts"]["count"],
        figures["cold_starts"]["init_duration_ms"]["max"],
    )


def test_the_athena_query(recording: Recording, figures: dict[str, Any]) -> None:
    (query,) = [block for block in sql_blocks() if "FROM telemetry_ext_reports" in block]
    connection = athena_in_duckdb(local_files(recording.folder), Destination(recording.bucket, recording.prefix))
    query = query.replace("'my-function'", f"'{FUNCTION}'").replace("'2026-11-01'", "'2000-01-01'")
    name, invocations, _, longest = one(connection, trino_to_duckdb(query.rstrip(";\n ")))
    assert (name, invocations, longest) == (FUNCTION, figures["reports"], figures["duration_ms"]["max"])
