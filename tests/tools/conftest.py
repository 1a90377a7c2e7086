"""One recorded session (tests/tools/recorded.py) shared by the report, README and Athena tests; moto's
Lambda API for publish and attach."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.support.s3 import S3Server, free_port, moto_server_command
from tests.tools.recorded import Recording, record_session


@pytest.fixture(scope="session")
def recording(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    folder = tmp_path_factory.mktemp("recorded")
    return asyncio.run(record_session(s3_server, s3_server.new_bucket(), folder))


@pytest.fixture(scope="module")
def lambda_api() -> Iterator[str]:
    """moto's server (Lambda API) on loopback; it accepts any architecture or runtime, so the tool checks."""
    port = free_port()
    process = subprocess.Popen(moto_server_command(port), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert process.stderr is not None
    for line in process.stderr:  # its own "Running on" line, not a sleep
        if b"Running on" in line:
            break
    threading.Thread(target=lambda: [None for _ in process.stderr or []], daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
