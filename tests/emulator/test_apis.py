"""The emulated APIs' status codes and bodies, as lambda-api.md §1, §2 and §4 give them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from lambda_emulator.api.server import ApiHandlers, build_app
from lambda_emulator.state.extensions import ExtensionRegistry, FunctionInfo
from lambda_emulator.state.notify import Notifier
from lambda_emulator.state.runtime import MAX_PAYLOAD_BYTES, Invocation, RuntimeState
from lambda_emulator.telemetry.hub import Subscription, TelemetryHub
from tests.support.s3 import free_port

EXTERNAL = "my-extension"


class Api:
    def __init__(
        self, session: aiohttp.ClientSession, base: str, handlers: ApiHandlers, subscriptions_open: list[bool]
    ) -> None:
        self.session, self.base, self.handlers = session, base, handlers
        self._open = subscriptions_open

    def close_subscriptions(self) -> None:
        self._open[0] = False

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        async with self.session.request(method, self.base + path, data=data, headers=headers or {}) as response:
            content = await response.read()
            return response.status, orjson.loads(content) if content else None, dict(response.headers)

    async def register(self, name: str = EXTERNAL, events: list[str] | None = None) -> str:
        status, _, headers = await self.call(
            "POST", "/2020-01-01/extension/register", {"events": events or ["INVOKE", "SHUTDOWN"]},
            {"Lambda-Extension-Name": name},
        )  # fmt: skip
        assert status == 200
        return headers["Lambda-Extension-Identifier"]


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    notifier = Notifier()
    async with aiohttp.ClientSession() as session:
        registry = ExtensionRegistry({EXTERNAL}, FunctionInfo("fn", "$LATEST", "h", "123456789012"), notifier)
        subscriptions_open = [True]
        handlers = ApiHandlers(RuntimeState(notifier), registry, TelemetryHub(session), lambda: subscriptions_open[0])
        server = TestServer(build_app(handlers), host="127.0.0.1")
        await server.start_server()
        api = Api(session, f"http://127.0.0.1:{server.port}", handlers, subscriptions_open)
        yield api
        await handlers.telemetry.close()
        await server.close()


async def test_register_answers_the_identifier_and_function(api: Api) -> None:
    status, body, headers = await api.call(
        "POST", "/2020-01-01/extension/register", {"events": ["INVOKE", "SHUTDOWN"]},
        {"Lambda-Extension-Name": EXTERNAL, "Lambda-Extension-Accept-Feature": "accountId"},
    )  # fmt: skip
    assert status == 200 and headers["Lambda-Extension-Identifier"]
    assert body == {"functionName": "fn", "functionVersion": "$LATEST", "handler": "h", "accountId": "123456789012"}


@pytest.mark.parametrize(
    ("name", "raw", "error_type"),
    [
        ("", b'{"events": []}', "Extension.InvalidExtensionName"),
        (EXTERNAL, b"{not json", "InvalidRequestFormat"),
        (EXTERNAL, b'{"events": [], "configurationKeys": []}', "InvalidRequestFormat"),
        (EXTERNAL, b'{"events": ["INVOKE", "RESTART"]}', "Extension.InvalidEventType"),
        ("internal-one", b'{"events": ["SHUTDOWN"]}', "Extension.InvalidEventType"),
    ],
)
async def test_register_refusals(api: Api, name: str, raw: bytes, error_type: str) -> None:
    status, body, _ = await api.call("POST", "/2020-01-01/extension/register", raw=raw,
                                     headers={"Lambda-Extension-Name": name})  # fmt: skip
    assert status == 403 and body["errorType"] == error_type and body["errorMessage"]


async def test_registering_twice_and_an_eleventh_extension_are_refused(api: Api) -> None:
    await api.register()
    status, body, _ = await api.call("POST", "/2020-01-01/extension/register", {"events": []},
                                     {"Lambda-Extension-Name": EXTERNAL})  # fmt: skip
    assert (status, body["errorType"]) == (403, "Extension.InvalidExtensionState")
    for n in range(9):
        await api.register(f"internal-{n}", events=["INVOKE"])
    status, body, _ = await api.call("POST", "/2020-01-01/extension/register", {"events": []},
                                     {"Lambda-Extension-Name": "internal-x"})  # fmt: skip
    assert (status, body["errorMessage"]) == (403, "Extension limit (10) reached")


async def test_an_internal_extension_cannot_register_after_init(api: Api) -> None:
    api.handlers.registry.registration_open = False
    status, body, _ = await api.call("POST", "/2020-01-01/extension/register", {"events": ["INVOKE"]},
                                     {"Lambda-Extension-Name": "late"})  # fmt: skip
    assert (status, body["errorType"]) == (403, "Extension.RegistrationClosed")


@pytest.mark.parametrize(
    ("identifier", "error_type"),
    [
        (None, "Extension.MissingExtensionIdentifier"),
        ("not-a-uuid", "Extension.InvalidExtensionIdentifier"),
        ("4f2ab1c2-97a2-4f6b-8a4f-2c1b5fd30e11", "Extension.UnknownExtensionIdentifier"),
    ],
)
async def test_next_checks_the_identifier(api: Api, identifier: str | None, error_type: str) -> None:
    headers = {"Lambda-Extension-Identifier": identifier} if identifier else {}
    status, body, _ = await api.call("GET", "/2020-01-01/extension/event/next", headers=headers)
    assert (status, body["errorType"]) == (403, error_type)


async def test_init_error_needs_the_error_type_header(api: Api) -> None:
    ident = {"Lambda-Extension-Identifier": await api.register()}
    status, body, _ = await api.call("POST", "/2020-01-01/extension/init/error", {}, ident)
    assert (status, body["errorType"]) == (403, "Extension.MissingHeader")
    headers = {**ident, "Lambda-Extension-Function-Error-Type": "Extension.ConfigInvalid"}
    status, body, _ = await api.call("POST", "/2020-01-01/extension/init/error", {"errorMessage": "x"}, headers)
    assert (status, body) == (202, {"status": "OK"})
    assert api.handlers.registry.failed() is not None


def subscription(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemaVersion": "2022-12-13",
        "types": ["platform", "function"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:9999"},
    }
    body.update(changes)
    return body


async def test_subscribe_answers_the_json_string_ok(api: Api) -> None:
    ident = {"Lambda-Extension-Identifier": await api.register()}
    status, body, _ = await api.call("PUT", "/2022-07-01/telemetry", subscription(), ident)
    assert (status, body) == (200, "OK")
    (event,) = [e for e in api.handlers.telemetry.emitted if e["type"] == "platform.telemetrySubscription"]
    assert event["record"] == {"name": EXTERNAL, "state": "Subscribed", "types": ["function", "platform"]}


@pytest.mark.parametrize(
    "changes",
    [
        {"schemaVersion": "2021-01-01"},
        {"types": []},
        {"types": ["platform", "metrics"]},
        {"buffering": {"maxItems": 999}},
        {"buffering": {"maxBytes": 2_000_000}},
        {"buffering": {"timeoutMs": 24}},
        {"destination": {"protocol": "HTTP", "URI": "http://example.com:9999"}},
        {"destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain"}},
        {"destination": {"protocol": "HTTP", "URI": "http://sandbox:9001"}},
    ],
)
async def test_invalid_subscriptions_get_400_validation_error(api: Api, changes: dict[str, Any]) -> None:
    ident = {"Lambda-Extension-Identifier": await api.register()}
    status, body, _ = await api.call("PUT", "/2022-07-01/telemetry", subscription(**changes), ident)
    assert (status, body["errorType"]) == (400, "ValidationError")


async def test_subscribing_after_init_is_refused(api: Api) -> None:
    ident = {"Lambda-Extension-Identifier": await api.register()}
    api.close_subscriptions()
    status, body, _ = await api.call("PUT", "/2022-07-01/telemetry", subscription(), ident)
    assert (status, body["errorType"]) == (403, "Telemetry.SubscriptionClosed")


async def test_runtime_results_check_the_request_id_and_size(api: Api) -> None:
    runtime = api.handlers.runtime
    runtime.current = Invocation("req-1", b"{}", 0, "arn", "trace")
    status, body, _ = await api.call("POST", "/2018-06-01/runtime/invocation/other/response", raw=b"{}")
    assert (status, body["errorType"]) == (400, "InvalidRequestID")
    too_large = b"x" * (MAX_PAYLOAD_BYTES + 1)
    status, body, _ = await api.call("POST", "/2018-06-01/runtime/invocation/req-1/response", raw=too_large)
    assert (status, body["errorType"]) == (413, "RequestEntityTooLarge")
    status, body, _ = await api.call("POST", "/2018-06-01/runtime/invocation/req-1/response", raw=b'"ok"')
    assert (status, body) == (202, {"status": "OK"})
    status, body, _ = await api.call("POST", "/2018-06-01/runtime/invocation/req-1/response", raw=b'"again"')
    assert (status, body["errorType"]) == (403, "InvalidStateTransition")


async def test_at_shutdown_the_telemetry_of_an_exited_extension_is_not_waited_for() -> None:
    # GIVEN an extension's subscription whose listener is gone (the extension exited) and a line still queued
    async with aiohttp.ClientSession() as session:
        hub = TelemetryHub(session)
        dead = f"http://127.0.0.1:{free_port()}/telemetry"
        hub.subscribe(Subscription("gone", frozenset({"extension"}), dead, 1000, 262_144, 0.025))
        hub.close_init()
        hub.emit_log("extension", "telemetry-ext shutdown reason=spindown ...")
        # THEN it cannot be delivered, and naming the extension as gone, nothing is left to wait for
        assert not await hub.drained(0.1)
        assert await hub.drained(0.1, gone=frozenset({"gone"}))
        await hub.close()
