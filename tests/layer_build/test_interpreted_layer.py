"""Integration: the interpreted layer as built, on every CPython of Lambda's python3 runtimes this machine has
(this Python; python3.13 and python3.14 from the CPython root that the build caches, build/cpython-root.sh).
There is no CPython 3.12 here (no Debian release has one): the layer runs there from source, untested (README,
build/README)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from layer_interpreted import PYTHON_VERSIONS, find_interpreters

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.runtimes import SimulatedRuntime
from tests.support.s3 import S3Server, decode_object

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
RUNNABLE_HERE = tuple(v for v in PYTHON_VERSIONS if v != "3.12")
"""Every runtime's CPython but 3.12, which no Debian release ships: the build's CPython root has the others."""


@dataclass(frozen=True)
class Built:
    zip: Path
    info: dict[str, Any]
    python: Path  # the unpacked layer's telemetry-ext/python
    interpreters: dict[str, Path]  # the CPythons this machine has (the build creates the CPython root)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    dist = tmp_path_factory.mktemp("dist")
    command = [sys.executable, str(REPO / "build" / "build.py"), "--arch", "x86_64", "--flavor", "interpreted"]
    result = subprocess.run([*command, "--dist", str(dist)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    archive = dist / "telemetry-ext-interpreted-x86_64.zip"
    unpacked = dist / "unpacked"
    zipfile.ZipFile(archive).extractall(unpacked)
    info = json.loads((dist / "telemetry-ext-interpreted-x86_64.json").read_text())
    interpreters = find_interpreters(list(PYTHON_VERSIONS), create=False)
    return Built(archive, info, unpacked / "telemetry-ext" / "python", interpreters)


def interpreter(built: Built, version: str) -> Path:
    if version not in built.interpreters:
        pytest.fail(f"no CPython {version}: build/cpython-root.sh should have made one (see dist/logs/)")
    return built.interpreters[version]


def free_port() -> int:
    """A port nobody listens on now: other test runs on this machine may hold the default 9071."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tag(version: str) -> str:
    return "cpython-" + version.replace(".", "")


def test_the_layer_ships_the_source_alone_and_bytecode_for_every_interpreter_found(built: Built) -> None:
    # GIVEN the interpreted layer as built here
    names = set(zipfile.ZipFile(built.zip).namelist())
    sources = [n for n in names if n.startswith("telemetry-ext/python/telemetry_ext/") and n.endswith(".py")]
    # THEN it holds the extension for each of Lambda's python3 runtimes, and nothing else: no dependency, no ELF
    assert built.info["python_versions"] == list(PYTHON_VERSIONS)
    python = [n for n in names if n.startswith("telemetry-ext/python/") and not n.endswith("/")]
    assert [n for n in python if not n.startswith("telemetry-ext/python/telemetry_ext/")] == []
    assert built.info["host_glibc"] is None
    # and bytecode of every source file for each CPython this machine has, and only for those
    assert built.info["bytecode"] == [v for v in PYTHON_VERSIONS if v in built.interpreters]
    for version in PYTHON_VERSIONS:
        compiled = [f"{Path(s).parent}/__pycache__/{Path(s).stem}.{tag(version)}.pyc" for s in sources]
        assert all((c in names) == (version in built.interpreters) for c in compiled), version


@pytest.mark.parametrize("version", RUNNABLE_HERE)
def test_each_interpreter_imports_the_extension_from_its_own_bytecode(built: Built, version: str) -> None:
    # GIVEN the unpacked layer, which nothing may write to (as /opt on Lambda)
    python = interpreter(built, version)
    env = {"PYTHONPATH": str(built.python), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONSAFEPATH": "1"}
    # WHEN that interpreter imports the extension (its entry point, what the entry point imports when it runs, and
    # the S3 client it loads after init) as the launcher runs it (-S), verbosely, and reads and writes JSON with it
    program = "import telemetry_ext.__main__, telemetry_ext.app, telemetry_ext.pipeline.sink; "
    program += (
        'from telemetry_ext.jsontext import dumps, loads; print(dumps(loads(b\'{"ok": [1, "\\\\ud83d"]}\')).decode())'
    )
    result = subprocess.run([str(python), "-S", "-v", "-c", program], capture_output=True, text=True, env=env,
                            timeout=60)  # fmt: skip
    # THEN JSON works there (a lone surrogate escape too), and every module of the extension came from the layer's
    # bytecode for it
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == '{"ok":[1,"\\ud83d"]}'
    loaded = re.findall(r"^# code object from '?([^'\n]*telemetry_ext[^'\n]*)'?$", result.stderr, re.MULTILINE)
    assert len(loaded) >= 10
    assert [p for p in loaded if not (p.startswith(str(built.python)) and p.endswith(f".{tag(version)}.pyc"))] == []


@pytest.mark.parametrize("version", RUNNABLE_HERE)
async def test_the_layer_delivers_every_report_on_each_interpreter(
    built: Built, version: str, s3_server: S3Server, bucket: str
) -> None:
    # GIVEN the built layer in the emulator, its python3 being that interpreter, flushing on every invoke
    settings = {"flush_interval_ms": "0", "listener_port": str(free_port())}
    env = {**s3_server.extension_env(bucket, **settings), "TELEMETRY_EXT_PYTHON": str(interpreter(built, version))}
    config = EmulatorConfig(runtime=SimulatedRuntime(), layer=built.zip, memory_mb=1769, env=env)
    async with Emulator(config) as emulator:
        # WHEN it runs through init, three invokes and a spindown
        await emulator.start()
        invokes = [await emulator.invoke(orjson.dumps({"log_lines": 1, "sleep_ms": 20})) for _ in range(3)]
        shutdown = await emulator.shutdown()
    # THEN it exited by itself in time, and S3 holds every invoke's platform.report once
    (exit_record,) = shutdown.extensions.values()
    assert exit_record.exited_in_time and exit_record.exit_code == 0
    events = [event for body in s3_server.objects(bucket).values() for event in decode_object(body)[1]]
    reports = [e["record"]["requestId"] for e in events if e["type"] == "platform.report"]
    assert sorted(reports) == sorted(i.request_id for i in invokes)
