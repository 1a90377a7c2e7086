"""What Lambda still delivers after SHUTDOWN reaches S3: the extension listens until the stream is quiet.

Lambda keeps delivering telemetry after it sends SHUTDOWN (lambda-api.md §3.13): the end of init when no
invoke came, the last invoke's report, other extensions' last lines, a POST already under way. A driver
plays Lambda's part (tests/support/lambda_driver.py) so that each moment is the test's to choose.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from lambda_emulator.sandbox.layers import unpack_layer
from tests.support.lambda_driver import Driver, driving
from tests.support.layers import FLAVOURS, Flavour
from tests.support.s3 import S3Server, decode_object, free_port
from tests.support.summary import parse_summary

pytestmark = pytest.mark.integration


def event(kind: str, record: Any) -> dict[str, Any]:
    return {"time": "2026-11-23T12:00:00.000Z", "type": kind, "record": record}


END_OF_INIT = [
    event("platform.initRuntimeDone", {"initializationType": "on-demand", "phase": "init", "status": "success"}),
    event("platform.extension", {"name": "telemetry-ext", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]}),
    event("platform.initReport", {"initializationType": "on-demand", "phase": "init", "status": "success",
                                  "metrics": {"durationMs": 120.5}}),
]  # fmt: skip


@asynccontextmanager
async def extension(flavour: Flavour, tmp_path: Path, s3: S3Server, bucket: str) -> AsyncIterator[Driver]:
    layer = flavour.layer(tmp_path)
    if layer.is_file():
        unpack_layer(layer, tmp_path / "opt")
        layer = tmp_path / "opt"
    env = {**flavour.env, **s3.extension_env(bucket)}
    async with driving(layer / "extensions" / "telemetry-ext", env, free_port()) as driver:
        await driver.until_waiting()  # registered, listening, subscribed: init is done
        yield driver


def stored(s3: S3Server, bucket: str) -> list[dict[str, Any]]:
    return [e for body in s3.objects(bucket).values() for e in decode_object(body)[1]]


async def finish(driver: Driver, deadline_ms: int) -> dict[str, int]:
    code, left_ms = await driver.exited(deadline_ms)
    assert code == 0 and left_ms > 0, (code, left_ms, driver.output)
    assert [line for line in driver.output if "telemetry-ext shutdown" not in line] == []  # the one summary line
    return parse_summary(driver.output)


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_the_end_of_init_delivered_after_shutdown_is_written_when_no_invoke_came(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    async with extension(flavour, tmp_path, s3_server, bucket) as driver:
        driver.freeze()  # init ended; Lambda froze the environment before delivering the end of init
        driver.thaw()
        deadline = driver.shutdown()
        await asyncio.sleep(0.03)  # Lambda delivers what it buffered within timeoutMs (25 ms) of the thaw
        assert await driver.post(END_OF_INIT) == 200
        summary = await finish(driver, deadline)
    assert [e["type"] for e in stored(s3_server, bucket)] == [e["type"] for e in END_OF_INIT]
    assert summary["written"] == 3


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_a_post_under_way_at_shutdown_is_read_answered_and_written(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    lines = [event("function", f"line {n}\n") for n in range(200)]
    body = orjson.dumps(lines)
    async with extension(flavour, tmp_path, s3_server, bucket) as driver:
        reader, writer = await driver.open_post(body, sent=len(body) // 2)  # half of it sent
        deadline = driver.shutdown()
        await asyncio.sleep(0.2)  # the rest arrives late (a slow sender): the extension must wait for it
        status = await driver.finish_post(reader, writer, body[len(body) // 2 :])
        writer.close()
        await finish(driver, deadline)
    assert status == 200
    assert [e["record"] for e in stored(s3_server, bucket)] == [e["record"] for e in lines]


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_another_extensions_last_lines_and_a_late_report_are_written(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    report = event("platform.report", {"requestId": "r1", "status": "success", "metrics": {"durationMs": 20.5}})
    async with extension(flavour, tmp_path, s3_server, bucket) as driver:
        assert await driver.post(END_OF_INIT) == 200
        driver.invoke("r1")
        await driver.until_waiting()
        deadline = driver.shutdown()
        await asyncio.sleep(0.06)  # another extension logs as it shuts down
        assert await driver.post([event("extension", "other-extension: flushing\n")]) == 200
        await asyncio.sleep(0.5)  # the last invoke's report comes late: later than a 300 ms grace
        assert await driver.post([report]) == 200
        await asyncio.sleep(0.05)  # a last line 50 ms later, within the quiet window after the report
        assert await driver.post([event("extension", "other-extension: done\n")]) == 200
        summary = await finish(driver, deadline)
    kinds = Counter(e["type"] for e in stored(s3_server, bucket))
    assert kinds == {"platform.initRuntimeDone": 1, "platform.extension": 1, "platform.initReport": 1,
                     "extension": 2, "platform.report": 1}  # fmt: skip
    assert summary["unwritten"] == 0
