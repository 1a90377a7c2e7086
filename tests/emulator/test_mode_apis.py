"""The mode-specific API rules against the real HTTP server: Lambda Managed Instances' registration and schema
rules, concurrent runtime workers, SnapStart's restore/next and restore/error, the container credentials
endpoint (lambda-api.md §1.5, §2.1, §3.8; LMI RIE; RIE init caching)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from lambda_emulator.api.server import ApiHandlers, build_app
from lambda_emulator.state.credentials import CredentialsEndpoint
from lambda_emulator.state.extensions import ExtensionRegistry, FunctionInfo
from lambda_emulator.state.modes import rules_for
from lambda_emulator.state.notify import Notifier
from lambda_emulator.state.runtime import Invocation, RuntimeState
from lambda_emulator.telemetry.hub import TelemetryHub

EXTERNAL = "my-extension"
IDENTITY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None)


class Api:
    def __init__(self, session: aiohttp.ClientSession, base: str, handlers: ApiHandlers, notifier: Notifier) -> None:
        self.session, self.base, self.handlers, self.notifier = session, base, handlers, notifier

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until the server's state satisfies `condition` (it notifies on every change)."""
        assert await self.notifier.wait_until(condition, 5.0)

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        data = orjson.dumps(body) if body is not None else None
        async with self.session.request(method, self.base + path, data=data, headers=headers or {}) as response:
            return response.status, await response.read(), dict(response.headers)

    async def register(self, name: str, events: list[str]) -> tuple[int, Any, str | None]:
        status, body, headers = await self.call(
            "POST", "/2020-01-01/extension/register", {"events": events}, {"Lambda-Extension-Name": name}
        )
        return status, orjson.loads(body), headers.get("Lambda-Extension-Identifier")


async def serve(mode: str, workers: int = 1) -> AsyncIterator[Api]:
    rules = rules_for(mode)  # type: ignore[arg-type]
    notifier = Notifier()
    async with aiohttp.ClientSession() as session:
        info = FunctionInfo("fn", "$LATEST", "h", "123456789012")
        registry = ExtensionRegistry({EXTERNAL}, info, notifier, lmi=mode == "lmi")
        runtime = RuntimeState(notifier, workers)
        runtime.restore.enabled = rules.restores
        credentials = CredentialsEndpoint(IDENTITY, 60.0)
        handlers = ApiHandlers(runtime, registry, TelemetryHub(session), lambda: True, rules.schema_versions,
                               credentials if mode == "snapstart" else None)  # fmt: skip
        server = TestServer(build_app(handlers), host="127.0.0.1")
        await server.start_server()
        yield Api(session, f"http://127.0.0.1:{server.port}", handlers, notifier)
        await handlers.telemetry.close()
        await server.close()


@pytest.fixture
async def lmi() -> AsyncIterator[Api]:
    async for api in serve("lmi", workers=4):
        yield api


@pytest.fixture
async def snapstart() -> AsyncIterator[Api]:
    async for api in serve("snapstart"):
        yield api


@pytest.fixture
async def on_demand() -> AsyncIterator[Api]:
    async for api in serve("on-demand"):
        yield api


# -- Lambda Managed Instances -----------------------------------------------------------------------------------
async def test_lmi_refuses_an_invoke_registration_with_rie_s_error(lmi: Api) -> None:
    # GIVEN an external extension on LMI WHEN it asks for INVOKE THEN LMI RIE's ValidateExternalAgentEvent refusal
    status, body, ident = await lmi.register(EXTERNAL, ["INVOKE", "SHUTDOWN"])
    assert (status, body, ident) == (403, {"errorType": "Extension.InvalidEventType",
                                           "errorMessage": "INVOKE: ErrorInvalidEventType"}, None)  # fmt: skip
    # AND it may still register for SHUTDOWN alone
    status, body, ident = await lmi.register(EXTERNAL, ["SHUTDOWN"])
    assert status == 200 and ident


async def test_lmi_allows_no_event_at_all_to_an_internal_extension(lmi: Api) -> None:
    status, body, _ = await lmi.register("internal-one", ["INVOKE"])
    assert (status, body) == (403, {"errorType": "Extension.InvalidEventType",
                                    "errorMessage": "No events allowed for internal extensions"})  # fmt: skip
    status, _, ident = await lmi.register("internal-two", [])
    assert status == 200 and ident


async def test_on_demand_still_takes_invoke_registrations(on_demand: Api) -> None:
    status, _, ident = await on_demand.register(EXTERNAL, ["INVOKE", "SHUTDOWN"])
    assert status == 200 and ident


def subscription(schema: str) -> dict[str, Any]:
    return {
        "schemaVersion": schema,
        "types": ["platform"],
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:9999"},
    }


@pytest.mark.parametrize("schema", ["2022-07-01", "2022-12-13"])
async def test_lmi_rejects_every_schema_but_2025_01_29(lmi: Api, schema: str) -> None:
    _, _, ident = await lmi.register(EXTERNAL, ["SHUTDOWN"])
    assert ident is not None
    status, body, _ = await lmi.call("PUT", "/2022-07-01/telemetry", subscription(schema),
                                     {"Lambda-Extension-Identifier": ident})  # fmt: skip
    assert status == 400 and orjson.loads(body)["errorType"] == "ValidationError"
    assert "2025-01-29" in orjson.loads(body)["errorMessage"]
    status, body, _ = await lmi.call("PUT", "/2022-07-01/telemetry", subscription("2025-01-29"),
                                     {"Lambda-Extension-Identifier": ident})  # fmt: skip
    assert (status, orjson.loads(body)) == (200, "OK")


async def test_lmi_workers_wait_on_next_together_and_each_gets_one_invocation(lmi: Api) -> None:
    # GIVEN three workers polling /next at once (one worker is refused that on-demand)
    runtime = lmi.handlers.runtime
    polls = [asyncio.ensure_future(lmi.call("GET", "/2018-06-01/runtime/invocation/next")) for _ in range(3)]
    await lmi.until(lambda: runtime.idle_workers == 3)
    # WHEN three invocations are released
    invocations = [Invocation(f"req-{n}", b'{"n": %d}' % n, 0, "arn", "trace") for n in range(3)]
    for invocation in invocations:
        runtime.release(invocation)
    answers = await asyncio.gather(*polls)
    # THEN each worker got a different one, and each answers for its own
    ids = sorted(headers["Lambda-Runtime-Aws-Request-Id"] for _, _, headers in answers)
    assert ids == ["req-0", "req-1", "req-2"]
    for request_id in ids:
        status, _, _ = await lmi.call("POST", f"/2018-06-01/runtime/invocation/{request_id}/response", {"ok": 1})
        assert status == 202
    assert all(invocation.done.is_set() for invocation in invocations)


async def test_lmi_a_late_answer_after_a_timeout_gets_410(lmi: Api) -> None:
    runtime = lmi.handlers.runtime
    invocation = Invocation("req-late", b"{}", 0, "arn", "trace")
    runtime.release(invocation)
    runtime.time_out(invocation)
    status, body, _ = await lmi.call("POST", "/2018-06-01/runtime/invocation/req-late/response", {"ok": 1})
    assert (status, orjson.loads(body)) == (410, {"errorMessage": "Invoke timeout", "errorType": "InvokeTimeout"})
    status, body, _ = await lmi.call("POST", "/2018-06-01/runtime/invocation/unknown/response", {"ok": 1})
    assert (status, orjson.loads(body)["errorType"]) == (400, "InvalidRequestID")


async def test_on_demand_refuses_a_second_concurrent_next(on_demand: Api) -> None:
    first = asyncio.ensure_future(on_demand.call("GET", "/2018-06-01/runtime/invocation/next"))
    await on_demand.until(lambda: on_demand.handlers.runtime.waiting)
    status, body, _ = await on_demand.call("GET", "/2018-06-01/runtime/invocation/next")
    assert (status, orjson.loads(body)["errorType"]) == (403, "InvalidStateTransition")
    first.cancel()


# -- SnapStart: restore/next, restore/error --------------------------------------------------------------------
async def test_restore_next_blocks_until_a_restore_and_is_called_once(snapstart: Api) -> None:
    runtime = snapstart.handlers.runtime
    waiting = asyncio.ensure_future(snapstart.call("GET", "/2018-06-01/runtime/restore/next"))
    await snapstart.until(lambda: runtime.restore.waiting)
    assert not waiting.done()
    assert runtime.open_restore_gate()
    status, body, _ = await waiting
    assert (status, body) == (200, b"")  # RIE's RestoreRenderer: 200, no body
    status, body, _ = await snapstart.call("GET", "/2018-06-01/runtime/restore/next")
    assert (status, orjson.loads(body)["errorType"]) == (403, "InvalidStateTransition")


async def test_restore_error_is_accepted_and_kept_with_its_type(snapstart: Api) -> None:
    headers = {"Lambda-Runtime-Function-Error-Type": "Runtime.AfterRestoreError"}
    status, body, _ = await snapstart.call("POST", "/2018-06-01/runtime/restore/error", {"errorMessage": "x"}, headers)
    assert (status, orjson.loads(body)) == (202, {"status": "OK"})
    assert snapstart.handlers.runtime.restore.error is not None
    assert snapstart.handlers.runtime.restore.error[0] == "Runtime.AfterRestoreError"


async def test_restore_routes_are_not_served_outside_snapstart(on_demand: Api) -> None:
    status, _, _ = await on_demand.call("GET", "/2018-06-01/runtime/restore/next")
    assert status == 404
    status, _, _ = await on_demand.call("POST", "/2018-06-01/runtime/restore/error", {})
    assert status == 404


# -- the container credentials endpoint ------------------------------------------------------------------------
async def test_credentials_answer_the_container_shape_to_the_right_token(snapstart: Api) -> None:
    endpoint = snapstart.handlers.credentials
    assert endpoint is not None
    status, body, headers = await snapstart.call("GET", "/2021-04-23/credentials",
                                                 headers={"Authorization": endpoint.token})  # fmt: skip
    answer = orjson.loads(body)
    assert status == 200 and set(answer) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    assert (answer["AccessKeyId"], answer["SecretAccessKey"], answer["Token"]) == (IDENTITY[0], IDENTITY[1], "")
    expires = datetime.fromisoformat(answer["Expiration"])
    assert expires.utcoffset() is not None and answer["Expiration"].endswith("Z")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"  # what RIE's Go server labels it


@pytest.mark.parametrize("authorization", [None, "", "Bearer nope", "0" * 32])
async def test_credentials_refuse_a_wrong_or_missing_token_with_404(snapstart: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    status, body, _ = await snapstart.call("GET", "/2021-04-23/credentials", headers=headers)
    assert (status, body) == (404, b"cannot get credentials for the provided token\n")
    endpoint = snapstart.handlers.credentials
    assert endpoint is not None
    assert (endpoint.authorized_requests, endpoint.refused_requests) == (0, 1)


async def test_credentials_are_not_served_without_container_credentials(on_demand: Api) -> None:
    status, _, _ = await on_demand.call("GET", "/2021-04-23/credentials", headers={"Authorization": "x"})
    assert status == 404
