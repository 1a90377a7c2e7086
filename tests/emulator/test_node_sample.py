"""An extension the emulator was not written for, in another language: AWS's Node.js Telemetry API sample
(aws-samples/aws-lambda-extensions, nodejs-example-telemetry-api-extension at cfed93e), its code unmodified
(samples/README.md), built as its Makefile builds it, with one change its own bug requires: node-fetch 2.7.0 for
^3.3.2 (node-fetch 3 is ESM only: the sample's `require('node-fetch')` gets no function, and its first call throws
"fetch is not a function" on Node 20, ERR_REQUIRE_ESM on Node 18).

It registers for INVOKE and SHUTDOWN, listens on sandbox.localdomain:4243 (express), subscribes to platform events
(schema 2022-07-01), and at each INVOKE posts what it received so far to DISPATCH_POST_URI; at SHUTDOWN it waits 1 s
for the last events, posts them and exits."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from lambda_emulator import Emulator, EmulatorConfig, SimulatedRuntime
from tests.emulator.harness import HERE, REPO, zip_layer
from tests.support.listening import environment_pids, listening

pytestmark = pytest.mark.integration
NAME = "nodejs-example-telemetry-api-extension"
BUILD = HERE / "samples" / "build-node-sample.sh"
PORT = 4243


@pytest.fixture(scope="module")
def node_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's layer zip, built (or reused) by its script: npm ci of the pinned lock file."""
    folder = REPO / "dist" / "samples" / NAME
    built = subprocess.run([str(BUILD), str(folder)], capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stderr
    return zip_layer(folder, tmp_path_factory.mktemp("node") / f"{NAME}.zip")


@pytest.fixture
async def dispatched() -> AsyncIterator[tuple[str, list[list[dict[str, Any]]]]]:
    """Where the sample posts what it received (DISPATCH_POST_URI): (its URL, each post's events)."""
    posts: list[list[dict[str, Any]]] = []

    async def receive(request: web.Request) -> web.Response:
        posts.append(await request.json())
        return web.Response(status=200)

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}/", posts
    await server.close()


async def test_the_nodejs_telemetry_sample_runs_through_init_invokes_and_shutdown(
    node_layer: Path, dispatched: tuple[str, list[list[dict[str, Any]]]]
) -> None:
    url, posts = dispatched
    # GIVEN the sample's layer zip, as its Makefile packs it, and the simulated function
    config = EmulatorConfig(runtime=SimulatedRuntime(), layers=(node_layer,), memory_mb=1769, timeout_s=10,
                            env={"DISPATCH_POST_URI": url}, use_namespaces=True)  # fmt: skip
    async with Emulator(config) as emulator:
        # WHEN it goes through init, three invokes and a spindown
        init = await emulator.start()
        bound = listening(environment_pids(p.pid for p in emulator.extensions))
        invokes = [await emulator.invoke(b'{"log_lines": 1}') for _ in range(3)]
        shutdown = await emulator.shutdown()
        agents = {a.name: sorted(a.events) for a in emulator.registry.agents.values()}
        address = emulator.sandbox_address
    # THEN it registered under its file name, listened on the environment's own address and every invoke succeeded
    assert init.status == "success", init.error_message
    assert agents == {NAME: ["INVOKE", "SHUTDOWN"]} and bound == {(address, PORT)} and address != "127.0.0.1"
    assert [i.status for i in invokes] == ["success"] * 3
    # and it exited by itself after SHUTDOWN, in time (it waits 1 s for the last events)
    (exit_record,) = shutdown.extensions.values()
    assert exit_record.exit_code == 0 and exit_record.exited_in_time
    # and its telemetry was the platform's whole lifecycle in its schema (2022-07-01), each event once
    events = [event for post in posts for event in post]
    assert events and {e["type"] for e in events} <= _platform_types()
    (start,) = [e["record"] for e in events if e["type"] == "platform.initStart"]
    assert start == {"initializationType": "on-demand", "phase": "init"}
    for kind in ("platform.start", "platform.runtimeDone", "platform.report"):
        ids = [e["record"]["requestId"] for e in events if e["type"] == kind]
        assert ids == [i.request_id for i in invokes], kind  # the last report too, dispatched after SHUTDOWN
    assert len({(e["time"], e["type"], str(e["record"])) for e in events}) == len(events)


def _platform_types() -> set[str]:
    """What a subscriber of `platform` events alone may get in an on-demand run."""
    return {"platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.extension",
            "platform.telemetrySubscription", "platform.start", "platform.runtimeDone", "platform.report",
            "platform.logsDropped"}  # fmt: skip
