"""Shared fixtures: a real S3 server (moto, SigV4 enforced) per session, a fresh bucket per test, a fault proxy."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.s3 import S3Server, start_s3_server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = start_s3_server()
    yield server
    server.stop()


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.new_bucket()


@pytest.fixture
def fault_proxy(s3_server: S3Server) -> Iterator[FaultProxy]:
    upstream = urlsplit(s3_server.endpoint)
    assert upstream.hostname is not None and upstream.port is not None
    proxy = FaultProxy(upstream.hostname, upstream.port).start()
    yield proxy
    proxy.stop()
