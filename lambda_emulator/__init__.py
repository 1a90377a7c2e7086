"""A local AWS Lambda execution environment: the Runtime, Extensions and Telemetry APIs, the phases, the limits.

The names a user of the library needs (README.md, "Library use"); the layout is drawn at the top of README.md.
"""

from lambda_emulator.emulator import Emulator
from lambda_emulator.sandbox.layers import LayerError
from lambda_emulator.state.config import ConfigError, EmulatorConfig
from lambda_emulator.state.errors import EmulatorError, InitFailed
from lambda_emulator.state.init_cpu import InitCpuPolicy
from lambda_emulator.state.measurements import InitRecord, InvokeRecord, RestoreRecord, SessionResult, ShutdownRecord
from lambda_emulator.state.runtimes import AwsLambdaRic, RuntimeSpec, SimulatedRuntime

__all__ = [
    "AwsLambdaRic",
    "ConfigError",
    "Emulator",
    "EmulatorConfig",
    "EmulatorError",
    "InitCpuPolicy",
    "InitFailed",
    "InitRecord",
    "InvokeRecord",
    "LayerError",
    "RestoreRecord",
    "RuntimeSpec",
    "SessionResult",
    "ShutdownRecord",
    "SimulatedRuntime",
]
