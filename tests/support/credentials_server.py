"""A container credentials endpoint for functional tests (the shape the AWS SDKs read: lambda_env.py).

Each fetch hands out new temporary credentials (`issue`: the S3 server's STS, so that S3 accepts them), valid
for `ttl_s`, and records whether the request carried the expected authorization token.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class CredentialsEndpoint:
    issue: Callable[[], tuple[str, str, str]]
    """New credentials: key, secret, session token."""
    authorization: str
    ttl_s: float = 3600.0
    now: float | None = None
    """The endpoint's clock (None: the real one)."""
    requests: list[bool] = field(default_factory=list)
    """Per request: whether its Authorization header was right."""
    url: str = ""
    tokens: list[str] = field(default_factory=list)
    """Every session token handed out, in order."""

    async def handle(self, request: web.Request) -> web.Response:
        authorized = request.headers.get("Authorization") == self.authorization
        self.requests.append(authorized)
        if not authorized:
            return web.json_response({"message": "invalid token"}, status=401)
        expires = datetime.fromtimestamp((self.now or time.time()) + self.ttl_s, UTC)
        key, secret, token = self.issue()
        self.tokens.append(token)
        body = {
            "AccessKeyId": key,
            "SecretAccessKey": secret,
            "Token": token,
            "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return web.json_response(body)


@asynccontextmanager
async def serving(endpoint: CredentialsEndpoint) -> AsyncIterator[CredentialsEndpoint]:
    app = web.Application()
    app.router.add_get("/2021-04-23/credentials", endpoint.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    endpoint.url = f"http://127.0.0.1:{server.port}/2021-04-23/credentials"
    try:
        yield endpoint
    finally:
        await server.close()
