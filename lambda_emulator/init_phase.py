"""The init phase (lambda-api.md §5.1, §7.2): extensions start and register, then the runtime starts; init
ends when the runtime and every extension wait on /next, or fails (error or timeout) with Lambda's errorType.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lambda_emulator.errors import InitFailed
from lambda_emulator.layer import extension_environment, extension_executables
from lambda_emulator.measurements import InitRecord

if TYPE_CHECKING:
    from lambda_emulator.environment import Emulator


async def run_init(emulator: Emulator, phase: str, started: float) -> InitRecord:
    deadline = started + emulator.config.effective_init_timeout_s
    function_env = emulator.function_env()
    ext_env = extension_environment(function_env)
    emulator.extensions = [
        await emulator.launch(
            f"ext-{path.name}-{emulator.generation}",
            [str(path)],
            ext_env,
            emulator.opt,
            emulator.sandbox,
            lambda line: emulator.telemetry.emit("extension", line),
            label=path.name,
        )
        for path in extension_executables(emulator.opt)
    ]
    await _wait_or_fail(emulator, emulator.registry.external_registered, deadline, "extensions to register")
    emulator.runtime_process = await emulator.launch(
        f"runtime-{emulator.generation}",
        emulator.config.runtime.command(),
        function_env,
        emulator.task_root,
        emulator.sandbox,
        lambda line: emulator.telemetry.emit("function", line),
    )
    await _wait_or_fail(
        emulator, lambda: _init_done(emulator), deadline, "the runtime and every extension to call /next"
    )
    emulator.registry.registration_open = False
    ready = {a.name: (a.ready_at - started) * 1000 for a in emulator.registry.agents.values() if a.ready_at}
    ready_at = emulator.runtime.next_at or emulator.runtime.restore.called_at
    runtime_ready = (ready_at - started) * 1000 if ready_at else None
    return InitRecord(
        phase,
        "success",
        round((time.monotonic() - started) * 1000, 3),
        ready,
        runtime_ready,
        processes=emulator.process_figures(),
    )


def _init_done(emulator: Emulator) -> bool:
    """The runtime waits on /next (LMI: at least one worker does; SnapStart: or on restore/next) and every
    extension on its /next."""
    runtime = emulator.runtime
    return (runtime.waiting or runtime.restore.waiting) and emulator.registry.all_waiting()


async def _wait_or_fail(emulator: Emulator, condition: Callable[[], bool], deadline: float, what: str) -> None:
    def settled() -> bool:
        return bool(condition()) or _init_failure(emulator) is not None

    if not await emulator.notifier.wait_until(settled, max(0.0, deadline - time.monotonic())):
        raise InitFailed("timeout", "Sandbox.Timeout", f"init timed out waiting for {what}")
    failure = _init_failure(emulator)
    if failure is not None:
        raise failure


def _init_failure(emulator: Emulator) -> InitFailed | None:
    agent = emulator.registry.failed()
    if agent is not None:
        return InitFailed("error", "Extension.InitError", f"{agent.name}: {agent.error_body!r}")
    if emulator.runtime.init_error is not None:
        return InitFailed("error", emulator.runtime.init_error[0], "the runtime reported an init error")
    for process in emulator.all_processes():
        if not process.alive:
            kind = "Runtime.ExitError" if process is emulator.runtime_process else "Extension.Crash"
            return InitFailed("error", kind, f"{process.name} exited with {process.process.returncode}")
    return None
