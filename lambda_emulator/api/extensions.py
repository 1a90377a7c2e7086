"""Extensions API 2020-01-01 routes (lambda-api.md §1): register, /event/next, init and exit errors. Each handler
translates HTTP into a call on the registry of the current generation."""

from __future__ import annotations

from typing import Final, Protocol

from aiohttp import web

from lambda_emulator.api.render import ACCEPTED, Route, json_response
from lambda_emulator.state.extensions import ExtensionRegistry

VERSION: Final = "/2020-01-01/extension"
ID: Final = "Lambda-Extension-Identifier"


class Served(Protocol):
    @property
    def registry(self) -> ExtensionRegistry:
        """The current generation's registrations (replaced at each re-init)."""


def routes(served: Served) -> list[Route]:
    async def register(request: web.Request) -> web.Response:
        name = request.headers.get("Lambda-Extension-Name", "")
        features = request.headers.get("Lambda-Extension-Accept-Feature", "")
        agent, reply = served.registry.register(name, await request.read(), features)
        return json_response(200, reply, headers={ID: agent.id})

    async def next_event(request: web.Request) -> web.Response:
        registry = served.registry
        event = await registry.next_event(registry.agent(request.headers.get(ID)))
        return web.Response(status=200, body=event, content_type="application/json")

    async def init_error(request: web.Request) -> web.Response:
        return await _error(served.registry, request, "init")

    async def exit_error(request: web.Request) -> web.Response:
        return await _error(served.registry, request, "exit")

    return [
        ("POST", f"{VERSION}/register", register),
        ("GET", f"{VERSION}/event/next", next_event),
        ("POST", f"{VERSION}/init/error", init_error),
        ("POST", f"{VERSION}/exit/error", exit_error),
    ]


async def _error(registry: ExtensionRegistry, request: web.Request, phase: str) -> web.Response:
    agent = registry.agent(request.headers.get(ID))
    error_type = request.headers.get("Lambda-Extension-Function-Error-Type")
    registry.report_error(agent, error_type, await request.read(), phase)
    return json_response(202, ACCEPTED)
