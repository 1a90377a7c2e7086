"""The HTTP side of the emulated APIs: every route in one table, served on 127.0.0.1; an `ApiError` raised by a
state machine becomes Lambda's error body with its status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from lambda_emulator.api import credentials, extensions, runtime, telemetry
from lambda_emulator.api.render import Handler, Route, json_response
from lambda_emulator.state.credentials import CredentialsEndpoint
from lambda_emulator.state.errors import ApiError
from lambda_emulator.state.extensions import ExtensionRegistry
from lambda_emulator.state.modes import ALL_SCHEMAS
from lambda_emulator.state.runtime import RuntimeState
from lambda_emulator.telemetry.hub import TelemetryHub

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest request body read (a runtime's response may be 6 MB; more is refused with 413 before reading)."""
TOO_LARGE = ApiError(413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({MAX_BODY_BYTES} bytes).")


@dataclass(slots=True)
class ApiHandlers:
    """What the APIs serve. `runtime` and `registry` are replaced at each re-init (a new generation)."""

    runtime: RuntimeState
    registry: ExtensionRegistry
    telemetry: TelemetryHub
    subscription_open: Callable[[], bool]
    schema_versions: frozenset[str] = ALL_SCHEMAS
    credentials: CredentialsEndpoint | None = None
    """Served only when the environment gets container credentials."""
    sandbox_address: str = "127.0.0.1"
    """Where `sandbox.localdomain` resolves inside the environment: telemetry is delivered there."""

    def table(self) -> list[Route]:
        return [*runtime.routes(self), *extensions.routes(self), *telemetry.routes(self), *credentials.routes(self)]


def build_app(handlers: ApiHandlers) -> web.Application:
    @web.middleware
    async def render_api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as error:
            return json_response(error.status, error.body())
        except web.HTTPRequestEntityTooLarge:  # a body over MAX_BODY_BYTES, refused before it is read
            return json_response(413, TOO_LARGE.body())

    app = web.Application(middlewares=[render_api_errors], client_max_size=MAX_BODY_BYTES)
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
