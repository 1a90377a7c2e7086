"""The container credentials route (`GET /2021-04-23/credentials`, served on the Runtime API's address when the
environment gets container credentials; state/credentials.py says what it answers)."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from lambda_emulator.api.render import Route
from lambda_emulator.state.credentials import CONTENT_TYPE, PATH, CredentialsEndpoint


class Served(Protocol):
    @property
    def credentials(self) -> CredentialsEndpoint | None:
        """None when the environment gets its keys in its variables: the route answers 404."""


def routes(served: Served) -> list[Route]:
    async def container_credentials(request: web.Request) -> web.Response:
        if served.credentials is None:
            raise web.HTTPNotFound()
        status, body = served.credentials.answer(request.headers.get("Authorization"))
        return web.Response(status=status, body=body, headers={"Content-Type": CONTENT_TYPE})

    return [("GET", PATH, container_credentials)]
