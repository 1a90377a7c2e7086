"""What every phase acts through: the function's settings, the telemetry stream it emits into, and the notifier
it waits on (state changes are told there; no phase polls)."""

from __future__ import annotations

from dataclasses import dataclass

from lambda_emulator.state.config import EmulatorConfig
from lambda_emulator.state.notify import Notifier
from lambda_emulator.telemetry.hub import TelemetryHub


@dataclass(frozen=True, slots=True)
class Platform:
    config: EmulatorConfig
    telemetry: TelemetryHub
    notifier: Notifier
