"""Function runtimes the emulator can start: AWS's awslambdaric with a handler file, or a simulated one."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

SIMULATED_RUNTIME = Path(__file__).with_name("sim_runtime.py")


class RuntimeSpec(Protocol):
    @property
    def version(self) -> str: ...

    def command(self) -> list[str]: ...
    def environment(self) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class SimulatedRuntime:
    """A stdlib-only runtime: the payload says what to do (sleep, log lines, crash, allocate, hang)."""

    python: str = sys.executable
    version: str = "simulated:1"

    def command(self) -> list[str]:
        return [self.python, "-u", str(SIMULATED_RUNTIME)]

    def environment(self) -> dict[str, str]:
        return {"AWS_EXECUTION_ENV": "AWS_Lambda_simulated", "_HANDLER": "simulated"}


@dataclass(frozen=True, slots=True)
class AwsLambdaRic:
    """awslambdaric running `handler` (FILE:FUNCTION) from the file's folder, as the managed Python runtime does."""

    handler_file: Path
    function: str = "handler"
    python: str = sys.executable
    version: str = field(default=f"python:{sys.version_info.major}.{sys.version_info.minor}.awslambdaric")

    @classmethod
    def parse(cls, spec: str, python: str = sys.executable) -> AwsLambdaRic:
        path, _, function = spec.rpartition(":")
        if not path:
            raise ValueError(f"--handler wants FILE:FUNCTION, got {spec!r}")
        return cls(Path(path).resolve(), function, python)

    @property
    def handler(self) -> str:
        return f"{self.handler_file.stem}.{self.function}"

    def command(self) -> list[str]:
        return [self.python, "-m", "awslambdaric", self.handler]

    def environment(self) -> dict[str, str]:
        folder = str(self.handler_file.parent)
        return {
            "_HANDLER": self.handler,
            "LAMBDA_TASK_ROOT": folder,
            "PYTHONPATH": folder,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        }
