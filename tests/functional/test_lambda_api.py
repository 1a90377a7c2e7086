"""The Extensions/Telemetry API client against a local aiohttp server that records what it is sent. Init's calls
block (each runs in a thread here); /next is read on the extension's event loop (in a thread of the test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from telemetry_ext.config import Config
from telemetry_ext.errors import LambdaApiError
from telemetry_ext.lambda_api import (
    ExtensionsApi,
    Invoke,
    LifecycleEvent,
    NextEvents,
    Shutdown,
    registration_events,
    subscription_request,
)
from tests.support.loop_thread import Collected, loop_thread

EXTENSION_ID = "0b4e5a52-c1c4-4c1e-9e5d-0d5f0c1d8a11"
ENV = {"AWS_LAMBDA_RUNTIME_API": "x:1", "TELEMETRY_EXT_BUCKET": "a-bucket", "AWS_ACCESS_KEY_ID": "k",
       "AWS_SECRET_ACCESS_KEY": "s"}  # fmt: skip


class RecordingApi:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.events: list[dict[str, Any]] = []
        self.subscribe_status = 200

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((request.method, request.path, dict(request.headers), orjson.loads(body or b"null")))
        if request.path.endswith("/register"):
            reply = {"functionName": "fn", "functionVersion": "$LATEST", "handler": "h"}
            return web.json_response(reply, headers={"Lambda-Extension-Identifier": EXTENSION_ID})
        if request.path.endswith("/telemetry"):
            return web.json_response("OK", status=self.subscribe_status)
        if request.path.endswith("/event/next"):
            return web.json_response(self.events.pop(0))
        return web.json_response({"status": "OK"}, status=202)


@pytest.fixture
async def api() -> AsyncIterator[tuple[ExtensionsApi, RecordingApi]]:
    recording = RecordingApi()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recording.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = ExtensionsApi(f"127.0.0.1:{server.port}")
    yield client, recording
    client.close()
    await server.close()


async def test_register_sends_the_name_and_both_events(api: tuple[ExtensionsApi, RecordingApi]) -> None:
    client, recording = api
    registration = await asyncio.to_thread(client.register, "telemetry-ext", registration_events(shutdown_only=False))
    method, path, headers, body = recording.requests[0]
    assert (method, path) == ("POST", "/2020-01-01/extension/register")
    assert headers["Lambda-Extension-Name"] == "telemetry-ext"
    assert body == {"events": ["INVOKE", "SHUTDOWN"]}
    assert registration.extension_id == EXTENSION_ID and registration.function_name == "fn"


async def test_on_managed_instances_it_registers_for_shutdown_only_and_subscribes_with_2025_01_29(
    api: tuple[ExtensionsApi, RecordingApi],
) -> None:
    client, recording = api
    await asyncio.to_thread(client.register, "telemetry-ext", registration_events(shutdown_only=True))
    config = Config.from_env({**ENV, "AWS_LAMBDA_INITIALIZATION_TYPE": "lambda-managed-instances"})
    await asyncio.to_thread(client.subscribe, subscription_request(config))
    assert recording.requests[0][3] == {"events": ["SHUTDOWN"]}
    assert recording.requests[1][3]["schemaVersion"] == "2025-01-29"


async def test_subscribe_sends_the_documented_body(api: tuple[ExtensionsApi, RecordingApi]) -> None:
    client, recording = api
    await asyncio.to_thread(client.register, "telemetry-ext", ["INVOKE", "SHUTDOWN"])
    config = Config.from_env(ENV)
    assert await asyncio.to_thread(client.subscribe, subscription_request(config)) == "subscribed"
    method, path, headers, body = recording.requests[1]
    assert (method, path) == ("PUT", "/2022-07-01/telemetry")
    assert headers["Lambda-Extension-Identifier"] == EXTENSION_ID
    assert body == {
        "schemaVersion": "2022-12-13",
        "types": ["platform", "function", "extension"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:9071"},
    }


async def test_a_202_subscription_means_local_mode(api: tuple[ExtensionsApi, RecordingApi]) -> None:
    client, recording = api
    recording.subscribe_status = 202
    assert await asyncio.to_thread(client.subscribe, {}) == "not-supported"


async def test_a_refused_subscription_raises(api: tuple[ExtensionsApi, RecordingApi]) -> None:
    client, recording = api
    recording.subscribe_status = 400
    with pytest.raises(LambdaApiError, match="HTTP 400"):
        await asyncio.to_thread(client.subscribe, {})


@pytest.mark.parametrize("reason", ["spindown", "SPINDOWN", "Timeout", "failure"])
async def test_events_are_parsed_and_shutdown_reasons_lowercased(
    api: tuple[ExtensionsApi, RecordingApi], reason: str
) -> None:
    client, recording = api
    recording.events = [
        {"eventType": "INVOKE", "deadlineMs": 10, "requestId": "r1", "invokedFunctionArn": "arn"},
        {"eventType": "SHUTDOWN", "deadlineMs": 20, "shutdownReason": reason},
    ]
    events: Collected[LifecycleEvent] = Collected()
    with loop_thread() as running:
        next_events = running.call(lambda: NextEvents(client, running.loop, events.add))
        running.call(next_events.request)
        assert await asyncio.to_thread(events.until, 1) == [Invoke("r1", 10)]
        running.call(next_events.request)
        assert await asyncio.to_thread(events.until, 2) == [Invoke("r1", 10), Shutdown(reason.lower(), 20)]
    assert [(m, p, h["Lambda-Extension-Identifier"]) for m, p, h, _ in recording.requests] == [
        ("GET", "/2020-01-01/extension/event/next", "")
    ] * 2


async def test_init_error_names_the_error_type(api: tuple[ExtensionsApi, RecordingApi]) -> None:
    client, recording = api
    await asyncio.to_thread(client.register, "telemetry-ext", ["INVOKE", "SHUTDOWN"])
    await asyncio.to_thread(client.init_error, "Extension.ConfigInvalid", "TELEMETRY_EXT_BUCKET: is required")
    _, path, headers, body = recording.requests[-1]
    assert path == "/2020-01-01/extension/init/error"
    assert headers["Lambda-Extension-Function-Error-Type"] == "Extension.ConfigInvalid"
    assert body["errorMessage"] == "TELEMETRY_EXT_BUCKET: is required"
