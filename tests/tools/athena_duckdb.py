"""The Athena DDL's line table and views, stood up in DuckDB over real objects (Athena is not reachable
here): the table filled as Athena reads it (one row per line, with `$path` and the partitions), the views
created from the generated SQL transpiled by sqlglot from Trino's dialect (Athena's DML) to DuckDB's."""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from pathlib import Path

import duckdb
import sqlglot

from telemetry_tools.athena import ddl, spec
from telemetry_tools.settings import Destination

DATABASE, TABLE = "default", "telemetry_ext"


def statements(text: str) -> list[str]:
    return [s.strip() for s in text.split(";\n") if s.strip()]


def athena_in_duckdb(files: Sequence[Path], destination: Destination) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(f'CREATE SCHEMA "{DATABASE}"')
    connection.execute(
        f'CREATE TABLE "{DATABASE}"."{TABLE}" (line VARCHAR, "$path" VARCHAR, function_name VARCHAR, dt VARCHAR, '
        "hour VARCHAR)"
    )
    for path in files:
        found = re.search(r"function=([^/]+)/dt=([^/]+)/hour=([^/]+)/", str(path))
        assert found, path
        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        rows = [(line, str(path), *found.groups()) for line in lines]
        connection.executemany(f'INSERT INTO "{DATABASE}"."{TABLE}" VALUES (?, ?, ?, ?, ?)', rows)
    for statement in statements(ddl(spec(destination, DATABASE, TABLE, [], "2025-01-01", False)))[1:]:
        found = re.match(r"CREATE OR REPLACE VIEW (\S+) AS\n(.*)", statement, re.S)
        assert found, statement
        name, select = found.groups()
        connection.execute(f"CREATE VIEW {name} AS {trino_to_duckdb(select)}")
    connection.execute(f"SET schema = '{DATABASE}'")
    return connection


def trino_to_duckdb(sql: str) -> str:
    return sqlglot.transpile(sql, read="trino", write="duckdb")[0]
