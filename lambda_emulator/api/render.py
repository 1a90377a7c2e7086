"""How every API answers: JSON bodies, Lambda's error bodies (`{"errorMessage", "errorType"}` with the status of
lambda-api.md), and the shape of a route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]
"""(method, path, handler)."""


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


ACCEPTED = {"status": "OK"}
"""The body of a 202 answer to an error report."""
