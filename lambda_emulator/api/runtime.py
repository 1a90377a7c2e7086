"""Runtime API 2018-06-01 routes (lambda-api.md §4): /next, the response or error, init errors, and SnapStart's
restore/next and restore/error. Each handler translates HTTP into a call on the runtime's state machine."""

from __future__ import annotations

import re
import time
from typing import Final, Protocol

from aiohttp import web

from lambda_emulator.api.render import ACCEPTED, Route, json_response
from lambda_emulator.state.runtime import RuntimeState

VERSION: Final = "/2018-06-01/runtime"
VALID_ERROR_TYPE: Final = re.compile(r"(Runtime|Function)\.[A-Z][a-zA-Z]+")


class Served(Protocol):
    @property
    def runtime(self) -> RuntimeState:
        """The current generation's runtime state (replaced at each re-init)."""


def routes(served: Served) -> list[Route]:
    async def next_invocation(request: web.Request) -> web.Response:
        invocation = await served.runtime.next_invocation()
        return web.Response(status=200, body=invocation.payload, headers=invocation.headers())

    async def response(request: web.Request) -> web.Response:
        return await _result(served.runtime, request, error_type=None)

    async def error(request: web.Request) -> web.Response:
        return await _result(served.runtime, request, error_type=error_type_of(request))

    async def init_error(request: web.Request) -> web.Response:
        served.runtime.report_init_error(error_type_of(request), await request.read())
        return json_response(202, ACCEPTED)

    async def restore_next(request: web.Request) -> web.Response:
        await served.runtime.restore_next()
        return web.Response(status=200)

    async def restore_error(request: web.Request) -> web.Response:
        served.runtime.report_restore_error(error_type_of(request), await request.read())
        return json_response(202, ACCEPTED)

    return [
        ("GET", f"{VERSION}/invocation/next", next_invocation),
        ("POST", f"{VERSION}/invocation/{{request_id}}/response", response),
        ("POST", f"{VERSION}/invocation/{{request_id}}/error", error),
        ("POST", f"{VERSION}/init/error", init_error),
        ("GET", f"{VERSION}/restore/next", restore_next),
        ("POST", f"{VERSION}/restore/error", restore_error),
    ]


async def _result(runtime: RuntimeState, request: web.Request, error_type: str | None) -> web.Response:
    started = time.monotonic()
    invocation = runtime.invocation(request.match_info["request_id"])
    runtime.respond(invocation, await request.read(), started, error_type)
    return json_response(202, ACCEPTED)


def error_type_of(request: web.Request) -> str:
    """The error type of /runtime/init/error, /invocation/{id}/error and /restore/error as RIE keeps it
    (`fatalerror.GetValidRuntimeOrFunctionErrorType`): one that contains `Runtime.Xxx` or `Function.Xxx` is kept;
    else `Function.Unknown` if it starts with `Function.`, else `Runtime.Unknown` (an exception's class name
    such as `RuntimeError` too)."""
    error_type = request.headers.get("Lambda-Runtime-Function-Error-Type", "")
    if VALID_ERROR_TYPE.search(error_type):
        return error_type
    return "Function.Unknown" if error_type.startswith("Function.") else "Runtime.Unknown"
