"""Bring the extension's objects to a local folder (boto3, concurrent, with progress), or find them in one.

DuckDB's `s3://` needs its httpfs extension, which `INSTALL` downloads at run time; boto3 needs nothing
more and uses the caller's usual credentials. Objects are written under `<dest>/<key below the prefix>`;
one already there with the same size is kept (a key's bytes never change: a retried PUT rewrites the same
bytes), so a second report over a growing bucket fetches only what is new.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from telemetry_tools.aws import call
from telemetry_tools.errors import ToolError

SUFFIX: Final = ".ndjson.gz"
WORKERS: Final = 16
Progress = Callable[[int, int, int], None]
"""(objects done, objects in all, bytes fetched so far)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    files: list[Path]
    downloaded: int
    reused: int
    bytes: int


def local_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ToolError(f"{folder}: no such folder")
    return sorted(folder.rglob(f"*{SUFFIX}"))


def fetch(client: Any, bucket: str, key_root: str, dest: Path, progress: Progress) -> Fetched:
    """Every `*.ndjson.gz` under s3://bucket/key_root into `dest`."""
    listing = [(key, size, dest / _relative(key, key_root)) for key, size in _list(client, bucket, key_root)]
    todo = [(key, path) for key, size, path in listing if not (path.is_file() and path.stat().st_size == size)]
    done, fetched = len(listing) - len(todo), 0
    progress(done, len(listing), 0)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for size in pool.map(lambda item: _download(client, bucket, *item), todo):
            done, fetched = done + 1, fetched + size
            progress(done, len(listing), fetched)
    return Fetched([path for _, _, path in listing], len(todo), len(listing) - len(todo), fetched)


def fetch_all_buckets(client: Any, dest: Path, progress: Progress) -> list[Path]:
    """Every bucket's objects under `dest/<bucket>/` (a local S3 server after a run: one bucket a session).
    `dest` is made afresh: what an earlier run left there is not this server's."""
    shutil.rmtree(dest, ignore_errors=True)
    files: list[Path] = []
    for bucket in sorted(b["Name"] for b in call(client.list_buckets, "list buckets").get("Buckets", [])):
        files += fetch(client, bucket, "", dest / bucket, progress).files
    return files


def _list(client: Any, bucket: str, key_root: str) -> Iterator[tuple[str, int]]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_root)
    for page in call(lambda: list(pages), f"list s3://{bucket}/{key_root}"):
        for item in page.get("Contents", []):
            if item["Key"].endswith(SUFFIX):
                yield item["Key"], int(item["Size"])


def _relative(key: str, key_root: str) -> Path:
    parts = key[len(key_root) :].split("/")
    if key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ToolError(f"refusing the key {key!r}: it does not name a file below the prefix")
    return Path(*parts)


def _download(client: Any, bucket: str, key: str, path: Path) -> int:
    body = call(lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read(), f"get s3://{bucket}/{key}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(body)
    os.replace(partial, path)
    return len(body)
