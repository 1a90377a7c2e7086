"""Telemetry API routes (lambda-api.md §2): `PUT /2022-07-01/telemetry` validated as Lambda validates it, and the
Logs API's `PUT /2020-08-15/logs`, which Lambda keeps but the emulator does not serve (202 `Logs.NotSupported`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from lambda_emulator.api.extensions import ID
from lambda_emulator.api.render import Route, json_response
from lambda_emulator.state.errors import ApiError
from lambda_emulator.state.extensions import ExtensionRegistry
from lambda_emulator.state.modes import ALL_SCHEMAS
from lambda_emulator.telemetry.hub import Subscription, TelemetryHub

TYPES: Final = frozenset({"platform", "function", "extension"})
SANDBOX_HOSTS: Final = frozenset({"sandbox.localdomain", "sandbox"})
BUFFERING: Final = {"maxItems": (1000, 10_000, 1000), "maxBytes": (262_144, 1_048_576, 262_144),
                    "timeoutMs": (25, 30_000, 1000)}  # fmt: skip


class Served(Protocol):
    @property
    def registry(self) -> ExtensionRegistry:
        """Who may subscribe: the current generation's registered extensions."""

    @property
    def telemetry(self) -> TelemetryHub: ...

    @property
    def subscription_open(self) -> Callable[[], bool]:
        """Subscriptions are accepted during init only."""

    @property
    def schema_versions(self) -> frozenset[str]:
        """The mode's schemas (LMI: 2025-01-29 only)."""

    @property
    def sandbox_address(self) -> str:
        """Where `sandbox.localdomain` resolves inside the environment: telemetry is delivered there."""


def routes(served: Served) -> list[Route]:
    async def subscribe(request: web.Request) -> web.Response:
        agent = served.registry.agent(request.headers.get(ID))
        if not served.subscription_open():
            raise ApiError(403, "Telemetry.SubscriptionClosed", "Telemetry API subscription is closed")
        body = await request.read()
        subscription = parse_subscription(agent.name, body, served.schema_versions, served.sandbox_address)
        served.telemetry.subscribe(subscription)
        record = {"name": agent.name, "state": "Subscribed", "types": sorted(subscription.types)}
        served.telemetry.emit("platform.telemetrySubscription", record)
        return json_response(200, "OK")

    async def logs_subscribe(request: web.Request) -> web.Response:
        served.registry.agent(request.headers.get(ID))
        return json_response(202, {"errorMessage": "Logs API is not supported", "errorType": "Logs.NotSupported"})

    return [("PUT", "/2022-07-01/telemetry", subscribe), ("PUT", "/2020-08-15/logs", logs_subscribe)]


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
