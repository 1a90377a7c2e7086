"""The composition root: `Emulator` (`environment`) makes the environment's parts (`parts`: the sandbox, the file
system and names, the API server, the telemetry stream, the freezer) and runs the phases in order, handing each only
what it uses. Tests and the CLI drive it."""

from lambda_emulator.emulator.environment import Emulator

__all__ = ["Emulator"]
