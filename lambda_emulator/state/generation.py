"""One generation of the execution environment: the processes one init started and the API state they drive.

A reset (a crash, a timeout, an OOM kill) ends a generation; the next init starts a new one with new processes,
new registrations and new subscriptions (lambda-api.md §3.13). The platform's own state (settings, instance id,
the telemetry stream, the records) outlives generations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lambda_emulator.sandbox.processes import Process
from lambda_emulator.state.config import EmulatorConfig
from lambda_emulator.state.extensions import ExtensionRegistry, FunctionInfo
from lambda_emulator.state.ids import ACCOUNT_ID
from lambda_emulator.state.notify import Notifier
from lambda_emulator.state.runtime import RuntimeState


@dataclass(slots=True)
class Generation:
    number: int
    runtime: RuntimeState
    registry: ExtensionRegistry
    extensions: list[Process] = field(default_factory=list)
    runtime_process: Process | None = None

    def processes(self) -> list[Process]:
        return [*self.extensions, *([self.runtime_process] if self.runtime_process else [])]

    def crashed(self) -> Process | None:
        """The process of the environment that died (the runtime first), if any."""
        if self.runtime_process is not None and not self.runtime_process.alive:
            return self.runtime_process
        return next((p for p in self.extensions if not p.alive), None)

    def crash_type(self) -> str | None:
        """Lambda's errorType for the first process that died: `Runtime.ExitError` or `Extension.Crash`."""
        crashed = self.crashed()
        if crashed is None:
            return None
        return "Runtime.ExitError" if crashed is self.runtime_process else "Extension.Crash"


def new_generation(number: int, config: EmulatorConfig, notifier: Notifier, extension_names: set[str]) -> Generation:
    """A generation before its init: the runtime's state (one worker, or the LMI concurrency; SnapStart's restore
    gate) and a registry open to the executables of /opt/extensions (`extension_names`) and internal extensions."""
    rules = config.rules
    runtime = RuntimeState(notifier, config.concurrency)
    runtime.restore.enabled = rules.restores
    info = FunctionInfo(config.function_name, config.function_version, "handler", ACCOUNT_ID)
    return Generation(number, runtime, ExtensionRegistry(extension_names, info, notifier, lmi=rules.mode == "lmi"))
