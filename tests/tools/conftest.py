"""One recorded session (tests/tools/recorded.py) shared by the report, README and Athena tests."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.s3 import S3Server
from tests.tools.recorded import Recording, record_session


@pytest.fixture(scope="session")
def recording(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    folder = tmp_path_factory.mktemp("recorded")
    return asyncio.run(record_session(s3_server, s3_server.new_bucket(), folder))
