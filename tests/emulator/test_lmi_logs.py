"""Lambda Managed Instances: the runtime's workers print at once, and every line reaches the Telemetry API whole.

awslambdaric's workers write each `print` as two writes (the text, then "\\n", each flushed), so on one shared pipe
their writes interleave: a record made of two workers' lines merged, and a record that is a bare "\\n" (issue 25).
On Lambda Managed Instances the platform gives the runtime a socket (`_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET`,
runtime-only; LMI RIE rapidcore/env), each forked worker connects its stdout and its stderr to it
(awslambdaric lambda_multi_concurrent_utils.py), and each connection is a stream of its own, split into lines apart
from the others. The docs: "log interleaving (log entries from different requests being interleaved) is normal"
(Python runtime for Lambda Managed Instances, Logging): entries interleave, the lines within them do not."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import pytest

from lambda_emulator import AwsLambdaRic, Emulator, EmulatorConfig, SimulatedRuntime
from lambda_emulator.sandbox.log_sockets import LogSocket
from lambda_emulator.state.platform_env import extension_environment, function_env
from tests.emulator.harness import HERE

pytestmark = pytest.mark.integration
CHATTY = HERE / "handlers" / "chatty.py"
LINE = re.compile(r"^worker \d+ request [0-9a-f-]{36} line \d{4} x{64}\n$")


async def test_four_workers_printing_at_once_never_merge_or_split_a_line() -> None:
    # GIVEN awslambdaric with 4 workers on Managed Instances, each call printing 400 lines
    config = EmulatorConfig(runtime=AwsLambdaRic(CHATTY), mode="lmi", concurrency=4, memory_mb=1769, timeout_s=30)
    async with Emulator(config) as emulator:
        await emulator.start()
        # WHEN 8 calls run, 4 at a time
        invokes = await emulator.invoke_concurrently([b'{"lines": 400}'] * 8)
        records = [e["record"] for e in emulator.telemetry.emitted if e["type"] == "function"]
    # THEN every line the handler printed is one function record, whole: none merged, none blank
    assert [i.status for i in invokes] == ["success"] * 8
    printed = [r for r in records if "request" in r]
    assert [r for r in printed if not LINE.match(r)] == [] and "\n" not in records
    per_request = Counter(r.split()[3] for r in printed)
    assert sorted(per_request) == sorted(i.request_id for i in invokes) and set(per_request.values()) == {400}


async def test_the_simulated_runtimes_workers_keep_their_lines_apart_too() -> None:
    config = EmulatorConfig(runtime=SimulatedRuntime(), mode="lmi", concurrency=4, memory_mb=1769)
    async with Emulator(config) as emulator:
        await emulator.start()
        await emulator.invoke_concurrently([b'{"log_lines": 300}'] * 8)
        records = [e["record"] for e in emulator.telemetry.emitted if e["type"] == "function"]
    logged = [r for r in records if "of the simulated function" in r]
    assert len(logged) == 8 * 300
    assert all(re.fullmatch(r"log line \d+ of the simulated function\n", r) for r in logged)


def test_the_socket_variable_is_the_runtimes_only(tmp_path: Path) -> None:
    config = EmulatorConfig(runtime=SimulatedRuntime(), mode="lmi", concurrency=4)
    env = function_env(config, "127.0.0.1:9001", "stream", "/var/task", None, log_socket=str(tmp_path / "s.sock"))
    assert env["_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"] == str(tmp_path / "s.sock")
    assert "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET" not in extension_environment(env)
    on_demand = function_env(EmulatorConfig(runtime=SimulatedRuntime()), "127.0.0.1:9001", "s", "/var/task", None)
    assert "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET" not in on_demand


async def test_each_connection_is_read_apart_and_a_late_close_leaves_the_next_generations_socket(
    tmp_path: Path,
) -> None:
    # GIVEN the socket of a generation that ended (closed), and the next generation's at the same path
    path, lines, ended = tmp_path / "runtime-output.sock", [], []
    both_read = asyncio.Event()

    async def read(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            lines.append(line)
        ended.append(stream)
        if len(ended) == 2:
            both_read.set()

    old, new = LogSocket(path), LogSocket(path)
    await old.open(read)
    old.close()
    await new.open(read)
    # WHEN the old one is closed again (its process's exited() may run twice) and two writers interleave their writes
    old.close()
    _, first = await asyncio.open_unix_connection(str(path))
    _, second = await asyncio.open_unix_connection(str(path))
    for writer, text in ((first, b"one "), (second, b"two "), (first, b"line\n"), (second, b"line\n")):
        writer.write(text)
        await writer.drain()
    for writer in (first, second):
        writer.close()
        await writer.wait_closed()
    await asyncio.wait_for(both_read.wait(), 5)
    new.close()
    # THEN the new socket was still there, and each connection's line arrived whole
    assert sorted(lines) == [b"one line\n", b"two line\n"]
