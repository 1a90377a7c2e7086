"""The HTTP side of the emulated APIs: every route in one table, handlers translating HTTP to state calls."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from lambda_emulator import credentials
from lambda_emulator.credentials import CredentialsEndpoint
from lambda_emulator.errors import ApiError
from lambda_emulator.extensions_api import ExtensionRegistry
from lambda_emulator.modes import ALL_SCHEMAS
from lambda_emulator.runtime_api import RuntimeState
from lambda_emulator.telemetry import Subscription, TelemetryHub

TYPES: Final = frozenset({"platform", "function", "extension"})
SANDBOX_HOSTS: Final = frozenset({"sandbox.localdomain", "sandbox"})
BUFFERING: Final = {"maxItems": (1000, 10_000, 1000), "maxBytes": (262_144, 1_048_576, 262_144),
                    "timeoutMs": (25, 30_000, 1000)}  # fmt: skip
ID: Final = "Lambda-Extension-Identifier"
VALID_ERROR_TYPE: Final = re.compile(r"(Runtime|Function)\.[A-Z][a-zA-Z]+")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


@dataclass(slots=True)
class ApiHandlers:
    runtime: RuntimeState
    registry: ExtensionRegistry
    telemetry: TelemetryHub
    subscription_open: Callable[[], bool]
    schema_versions: frozenset[str] = ALL_SCHEMAS
    credentials: CredentialsEndpoint | None = None
    """Served only when the environment gets container credentials."""
    sandbox_address: str = "127.0.0.1"
    """Where `sandbox.localdomain` resolves inside the environment: telemetry is delivered there."""

    def table(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/2018-06-01/runtime/invocation/next", self.runtime_next),
            ("POST", "/2018-06-01/runtime/invocation/{request_id}/response", self.runtime_response),
            ("POST", "/2018-06-01/runtime/invocation/{request_id}/error", self.runtime_error),
            ("POST", "/2018-06-01/runtime/init/error", self.runtime_init_error),
            ("GET", "/2018-06-01/runtime/restore/next", self.runtime_restore_next),
            ("POST", "/2018-06-01/runtime/restore/error", self.runtime_restore_error),
            ("POST", "/2020-01-01/extension/register", self.register),
            ("GET", "/2020-01-01/extension/event/next", self.extension_next),
            ("POST", "/2020-01-01/extension/init/error", self.extension_init_error),
            ("POST", "/2020-01-01/extension/exit/error", self.extension_exit_error),
            ("PUT", "/2022-07-01/telemetry", self.subscribe),
            ("PUT", "/2020-08-15/logs", self.logs_subscribe),
            ("GET", credentials.PATH, self.container_credentials),
        ]

    async def runtime_next(self, request: web.Request) -> web.Response:
        invocation = await self.runtime.next_invocation()
        return web.Response(status=200, body=invocation.payload, headers=invocation.headers())

    async def runtime_response(self, request: web.Request) -> web.Response:
        return await self._runtime_result(request, error_type=None)

    async def runtime_error(self, request: web.Request) -> web.Response:
        return await self._runtime_result(request, error_type=_runtime_error_type(request))

    async def _runtime_result(self, request: web.Request, error_type: str | None) -> web.Response:
        started = time.monotonic()
        invocation = self.runtime.invocation(request.match_info["request_id"])
        self.runtime.respond(invocation, await request.read(), started, error_type)
        return _json(202, {"status": "OK"})

    async def runtime_init_error(self, request: web.Request) -> web.Response:
        self.runtime.report_init_error(_runtime_error_type(request), await request.read())
        return _json(202, {"status": "OK"})

    async def runtime_restore_next(self, request: web.Request) -> web.Response:
        await self.runtime.restore_next()
        return web.Response(status=200)

    async def runtime_restore_error(self, request: web.Request) -> web.Response:
        self.runtime.report_restore_error(_runtime_error_type(request), await request.read())
        return _json(202, {"status": "OK"})

    async def container_credentials(self, request: web.Request) -> web.Response:
        if self.credentials is None:
            raise web.HTTPNotFound()
        status, body = self.credentials.answer(request.headers.get("Authorization"))
        return web.Response(status=status, body=body, headers={"Content-Type": credentials.CONTENT_TYPE})

    async def register(self, request: web.Request) -> web.Response:
        name = request.headers.get("Lambda-Extension-Name", "")
        features = request.headers.get("Lambda-Extension-Accept-Feature", "")
        agent, reply = self.registry.register(name, await request.read(), features)
        return _json(200, reply, headers={ID: agent.id})

    async def extension_next(self, request: web.Request) -> web.Response:
        agent = self.registry.agent(request.headers.get(ID))
        event = await self.registry.next_event(agent)
        return web.Response(status=200, body=event, content_type="application/json")

    async def extension_init_error(self, request: web.Request) -> web.Response:
        return await self._extension_error(request, "init")

    async def extension_exit_error(self, request: web.Request) -> web.Response:
        return await self._extension_error(request, "exit")

    async def _extension_error(self, request: web.Request, phase: str) -> web.Response:
        agent = self.registry.agent(request.headers.get(ID))
        error_type = request.headers.get("Lambda-Extension-Function-Error-Type")
        self.registry.report_error(agent, error_type, await request.read(), phase)
        return _json(202, {"status": "OK"})

    async def subscribe(self, request: web.Request) -> web.Response:
        agent = self.registry.agent(request.headers.get(ID))
        if not self.subscription_open():
            raise ApiError(403, "Telemetry.SubscriptionClosed", "Telemetry API subscription is closed")
        body = await request.read()
        subscription = parse_subscription(agent.name, body, self.schema_versions, self.sandbox_address)
        self.telemetry.subscribe(subscription)
        record = {"name": agent.name, "state": "Subscribed", "types": sorted(subscription.types)}
        self.telemetry.emit("platform.telemetrySubscription", record)
        return _json(200, "OK")

    async def logs_subscribe(self, request: web.Request) -> web.Response:
        self.registry.agent(request.headers.get(ID))
        return _json(202, {"errorMessage": "Logs API is not supported", "errorType": "Logs.NotSupported"})


def _runtime_error_type(request: web.Request) -> str:
    """The error type of /runtime/init/error, /invocation/{id}/error and /restore/error as RIE keeps it
    (`fatalerror.GetValidRuntimeOrFunctionErrorType`): one that contains `Runtime.Xxx` or `Function.Xxx` is kept;
    else `Function.Unknown` if it starts with `Function.`, else `Runtime.Unknown` (an exception's class name
    such as `RuntimeError` too)."""
    error_type = request.headers.get("Lambda-Runtime-Function-Error-Type", "")
    if VALID_ERROR_TYPE.search(error_type):
        return error_type
    return "Function.Unknown" if error_type.startswith("Function.") else "Runtime.Unknown"


def parse_subscription(
    name: str, body: bytes, schema_versions: frozenset[str] = ALL_SCHEMAS, sandbox_address: str = "127.0.0.1"
) -> Subscription:
    """Validate a PUT /telemetry body; raise 400 ValidationError naming every problem."""
    try:
        request: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "ValidationError", "the body is not valid JSON") from None
    if not isinstance(request, dict):
        raise ApiError(400, "ValidationError", "the body must be a JSON object")
    problems: list[str] = []
    schema = request.get("schemaVersion")
    if not isinstance(schema, str) or schema not in schema_versions:
        problems.append(f"schemaVersion must be one of {sorted(schema_versions)}")
    types = request.get("types")
    if not isinstance(types, list) or not types or not all(isinstance(t, str) and t in TYPES for t in types):
        problems.append("types should not be empty and may hold platform, function, extension")
    destination = request.get("destination")
    url, host = _destination(destination if isinstance(destination, dict) else {}, problems, sandbox_address)
    buffering = request.get("buffering") or {}
    values = {}
    for key, (low, high, default) in BUFFERING.items():
        value = buffering.get(key, default) if isinstance(buffering, dict) else default
        if not isinstance(value, int) or not low <= value <= high:
            problems.append(f"buffering.{key} must be within {low}..{high}")
        values[key] = value
    if problems:
        raise ApiError(400, "ValidationError", "; ".join(problems))
    return Subscription(
        name=name,
        types=frozenset(types or ()),
        url=url,
        max_items=values["maxItems"],
        max_bytes=values["maxBytes"],
        timeout_s=values["timeoutMs"] / 1000,
        schema=str(schema),
        host=host,
    )


def _destination(destination: dict[str, Any], problems: list[str], sandbox_address: str) -> tuple[str, str]:
    """(the URL deliveries go to, their Host header): sandbox.localdomain and sandbox are the execution
    environment itself, reached at its own address."""
    if destination.get("protocol") != "HTTP":
        problems.append("destination.protocol must be HTTP (TCP is not emulated)")
        return "", ""
    try:
        parts = urlsplit(str(destination.get("URI", "")))
        port = parts.port
    except ValueError:
        problems.append("destination.URI is not a valid URI")
        return "", ""
    if parts.scheme != "http" or parts.hostname not in SANDBOX_HOSTS:
        problems.append("destination.URI must be http://sandbox.localdomain:PORT[/PATH]")
        return "", ""
    if port is None:
        problems.append("URI port is not provided")
        return "", ""
    if port == 9001:
        problems.append("URI port 9001 is reserved")
    query = f"?{parts.query}" if parts.query else ""
    return f"http://{sandbox_address}:{port}{parts.path or '/'}{query}", f"{parts.hostname}:{port}"


def build_app(handlers: ApiHandlers) -> web.Application:
    @web.middleware
    async def render_api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as error:
            return _json(error.status, error.body())

    app = web.Application(middlewares=[render_api_errors], client_max_size=16 * 1024 * 1024)
    for method, path, handler in handlers.table():
        app.router.add_route(method, path, handler)
    return app


async def serve(handlers: ApiHandlers) -> tuple[web.AppRunner, str]:
    """Serve the APIs on 127.0.0.1 and a free port; (runner, "127.0.0.1:<port>")."""
    # Long-polls (/next) of processes that are gone must not hold the server's cleanup for 60 s.
    runner = web.AppRunner(
        build_app(handlers), access_log=None, handle_signals=False, handler_cancellation=True, shutdown_timeout=1
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"127.0.0.1:{port}"
