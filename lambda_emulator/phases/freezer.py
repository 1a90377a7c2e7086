"""Freeze and thaw (lambda-api.md §5.1): between events every process of the environment is frozen and nothing is
delivered to it; Lambda Managed Instances never freeze."""

from __future__ import annotations

import time

from lambda_emulator.sandbox.limits import Sandbox
from lambda_emulator.telemetry.hub import TelemetryHub


class Freezer:
    def __init__(self, sandbox: Sandbox, telemetry: TelemetryHub, freezes: bool, freeze_processes: bool) -> None:
        self._sandbox = sandbox
        self._telemetry = telemetry
        self._freezes = freezes
        """The mode freezes between events (not on LMI)."""
        self._freeze_processes = freeze_processes
        """False with --no-freeze: telemetry still waits, the processes run on."""
        self.frozen_at: float | None = None
        """Monotonic time of the last freeze (a SnapStart restore waits its gap from there)."""

    async def freeze(self) -> None:
        if not self._freezes:
            return
        self._telemetry.pause()
        self.frozen_at = time.monotonic()
        if self._freeze_processes:
            await self._sandbox.freeze()

    async def thaw(self) -> None:
        if self._sandbox.frozen:
            await self._sandbox.thaw()
        self._telemetry.resume()
