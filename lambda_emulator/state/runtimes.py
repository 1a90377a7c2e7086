"""Function runtimes the emulator can start: AWS's awslambdaric with a handler file, or a simulated one."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

SIMULATED_RUNTIME = Path(__file__).resolve().parents[1] / "sim_runtime.py"


class RuntimeSpec(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def code_dir(self) -> Path | None:
        """The function's code, mounted at /var/task (None: an empty /var/task)."""

    def command(self) -> list[str]: ...
    def environment(self, task_root: str) -> dict[str, str]:
        """The runtime's own variables; `task_root` is where the processes see the code (/var/task)."""


@dataclass(frozen=True, slots=True)
class SimulatedRuntime:
    """A stdlib-only runtime: the payload says what to do (sleep, log lines, crash, allocate, hang)."""

    python: str = sys.executable
    version: str = "simulated:1"

    @property
    def code_dir(self) -> Path | None:
        return None

    def command(self) -> list[str]:
        return [self.python, "-u", str(SIMULATED_RUNTIME)]

    def environment(self, task_root: str) -> dict[str, str]:
        return {"AWS_EXECUTION_ENV": "AWS_Lambda_simulated", "_HANDLER": "simulated"}


@dataclass(frozen=True, slots=True)
class AwsLambdaRic:
    """awslambdaric running `handler` (FILE:FUNCTION); the file's folder is the function's code (/var/task), as
    the managed Python runtime runs it."""

    handler_file: Path
    function: str = "handler"
    python: str = sys.executable
    version: str = field(default=f"python:{sys.version_info.major}.{sys.version_info.minor}.awslambdaric")

    @classmethod
    def parse(cls, spec: str, python: str = sys.executable) -> AwsLambdaRic:
        path, _, function = spec.rpartition(":")
        if not path:
            raise ValueError(f"--handler wants FILE:FUNCTION, got {spec!r}")
        if not Path(path).is_file():
            raise ValueError(f"--handler {spec!r}: {path} is not a file")
        return cls(Path(path).resolve(), function, python)

    @property
    def handler(self) -> str:
        return f"{self.handler_file.stem}.{self.function}"

    @property
    def code_dir(self) -> Path | None:
        return self.handler_file.parent

    def command(self) -> list[str]:
        return [self.python, "-m", "awslambdaric", self.handler]

    def environment(self, task_root: str) -> dict[str, str]:
        return {
            "_HANDLER": self.handler,
            "LAMBDA_TASK_ROOT": task_root,
            "PYTHONPATH": task_root,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        }
