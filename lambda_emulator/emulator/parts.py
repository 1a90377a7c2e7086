"""The environment's machinery, made together when an emulator is entered and closed together when it exits: the
file system and names (isolation), the processes' supervisor, the telemetry stream and its HTTP client, the
freezer, and the API server. If making one part fails, the parts already made are closed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from lambda_emulator.api.server import ApiHandlers, serve
from lambda_emulator.phases.freezer import Freezer
from lambda_emulator.sandbox.isolation import Isolation, Wanted, open_isolation
from lambda_emulator.sandbox.layers import extension_executables
from lambda_emulator.sandbox.limits import Sandbox
from lambda_emulator.sandbox.supervisor import Supervisor
from lambda_emulator.state.config import EmulatorConfig
from lambda_emulator.state.credentials import CredentialsEndpoint
from lambda_emulator.state.generation import Generation
from lambda_emulator.state.notify import Notifier
from lambda_emulator.telemetry.hub import TelemetryHub


class Parts:
    def __init__(self, isolation: Isolation, supervisor: Supervisor, session: aiohttp.ClientSession,
                 telemetry: TelemetryHub, freezer: Freezer) -> None:  # fmt: skip
        self.isolation = isolation
        self.supervisor = supervisor
        self.telemetry = telemetry
        self.freezer = freezer
        self.handlers: ApiHandlers
        self.api_address = ""
        self.log_socket: Path | None = None
        """Lambda Managed Instances: where the runtime's workers connect their output (sandbox/log_sockets.py)."""
        self._session = session
        self._runner: web.AppRunner | None = None

    @classmethod
    async def open(
        cls,
        config: EmulatorConfig,
        sandbox: Sandbox,
        notifier: Notifier,
        generation: Callable[[], Generation],
        credentials: CredentialsEndpoint | None,
    ) -> Parts:
        """Merge the layers and make the file system (LayerError, NamespaceUnavailable), then serve the APIs for
        the current `generation`. The sandbox is destroyed if this fails."""
        wanted = Wanted(config.all_layers, config.runtime.code_dir, config.runtime.command()[0], config.shared_paths,
                        config.use_namespaces)  # fmt: skip
        try:
            isolation = await open_isolation(wanted)
        except BaseException:
            sandbox.destroy()
            raise
        session = aiohttp.ClientSession()
        try:
            telemetry = TelemetryHub(session, json_logs=config.log_format == "JSON")
            freezer = Freezer(sandbox, telemetry, config.rules.freezes, config.freeze)
            parts = cls(isolation, Supervisor(isolation, sandbox, notifier.notify), session, telemetry, freezer)
            if config.rules.concurrent:
                parts.log_socket = isolation.sockets / "runtime-output.sock"
            current = generation()
            current.registry.external_names = parts.extension_names()
            parts.handlers = ApiHandlers(
                current.runtime, current.registry, telemetry, lambda: generation().registry.registration_open,
                config.rules.schema_versions, credentials, isolation.address,
            )  # fmt: skip
            parts._runner, parts.api_address = await serve(parts.handlers)
        except BaseException:
            await session.close()
            sandbox.destroy()
            await isolation.close()
            raise
        return parts

    def extension_names(self) -> set[str]:
        """The names of the executables in /opt/extensions (who may register as an external extension)."""
        return {p.name for p in extension_executables(self.isolation.host_opt)}

    def serve_generation(self, generation: Generation) -> None:
        """A re-init: the APIs serve the new generation's runtime and registrations."""
        self.handlers.runtime, self.handlers.registry = generation.runtime, generation.registry

    async def close(self, sandbox: Sandbox) -> None:
        await self.telemetry.close()
        self.supervisor.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self._session.close()
        sandbox.destroy()
        await self.isolation.close()
