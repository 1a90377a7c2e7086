"""The extension's listener, under the emulator's execution environment, is bound to what sandbox.localdomain
resolves to there (the environment's own address), as on Lambda, not to the loopback it falls back to where the
name does not resolve; and the platform's deliveries reach it there. Without a namespace (runs without root)
the name does not resolve: it falls back to 127.0.0.1, where the emulator then delivers."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.runtimes import SimulatedRuntime
from tests.support.layers import FLAVOURS, Flavour
from tests.support.listening import environment_pids, listening
from tests.support.s3 import S3Server, decode_object, free_port

pytestmark = pytest.mark.integration
DEFAULT_PORT = 9071


@pytest.mark.parametrize("namespace", [True, False], ids=["own-namespace", "no-namespace"])
@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_the_listener_is_where_sandbox_localdomain_resolves(
    s3_server: S3Server, bucket: str, tmp_path: Path, flavour: Flavour, namespace: bool
) -> None:
    # GIVEN the extension's layer in an environment with (or without) its own namespace; on the shared loopback
    # another suite's extension may hold the default port, so that case takes a free one
    port = DEFAULT_PORT if namespace else free_port()
    env = {**flavour.env, **s3_server.extension_env(bucket, flush_interval_ms="0", listener_port=str(port))}
    config = EmulatorConfig(runtime=SimulatedRuntime(), layer=flavour.layer(tmp_path), memory_mb=1769, env=env,
                            use_namespaces=namespace)  # fmt: skip
    async with Emulator(config) as emulator:
        # WHEN it initialises and serves an invoke
        await emulator.start()
        bound = listening(environment_pids(p.pid for p in emulator.extensions))
        record = await emulator.invoke(orjson.dumps({"log_lines": 2}))
        await emulator.shutdown()
        address = emulator.sandbox_address
    # THEN it listened on the environment's own address only (127.0.0.1 only without a namespace)
    assert bound == {(address, port)}
    assert (address != "127.0.0.1") is namespace
    # and the platform's deliveries reached it there: the invoke's report is in S3
    stored = [event for body in s3_server.objects(bucket).values() for event in decode_object(body)[1]]
    reports = [e["record"]["requestId"] for e in stored if e["type"] == "platform.report"]
    assert record.status == "success" and reports == [record.request_id]
