"""The init phase (lambda-api.md §5.1, §7.2): extensions start and register, then the runtime starts; init
ends when the runtime and every extension wait on /next, or fails (error or timeout) with Lambda's errorType.

A failed init is reported as Lambda reports it: initRuntimeDone and initReport with the status and errorType,
everything killed, and the next invoke runs init again (`phase: "invoke"`). Its record says which process
failed and how, in one line, with every process's last output (failures.py).

| failure | errorType | message |
|---|---|---|
| an extension posts /extension/init/error | `Extension.InitError` | extension NAME reported TYPE: errorMessage |
| an extension exits | `Extension.Crash` | extension NAME exited with status N; last output: its last line |
| an extension cannot be started | `Extension.LaunchError` | extension NAME could not be started: why |
| the runtime posts /runtime/init/error | its type (else `Runtime.Unknown`) | runtime reported TYPE: errorMessage |
| the runtime exits | `Runtime.ExitError` | runtime exited with status N; last output: its last line |
| the runtime cannot be started | `Runtime.InvalidEntrypoint` | runtime could not be started: why |
| the init limit passes | `Sandbox.Timeout` (status `timeout`) | init timed out after S s waiting for WHOM |
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lambda_emulator import failures, records
from lambda_emulator.errors import InitFailed
from lambda_emulator.init_cpu import function_vcpus, init_cpu
from lambda_emulator.launch import LaunchError, Process
from lambda_emulator.layer import extension_executables
from lambda_emulator.measurements import InitCpu, InitRecord
from lambda_emulator.platform_env import extension_environment

if TYPE_CHECKING:
    from lambda_emulator.environment import Emulator


async def run_init(emulator: Emulator, phase: str) -> InitRecord:
    """One init, from platform.initStart to platform.initReport; InitFailed when it fails (recorded too)."""
    started = time.monotonic()
    start = records.init_start(emulator, phase)
    cpu = _begin_cpu(emulator, phase, start["initializationType"])
    emulator.telemetry.emit("platform.initStart", start)
    try:
        record = await _start_processes(emulator, phase, started)
    except InitFailed as failure:
        await emulator.kill_everything()
        output = failures.outputs(emulator.all_processes())
        record = InitRecord(phase, failure.status, _ms_since(started), error_type=failure.error_type,
                            error_message=failure.message, output=output)  # fmt: skip
        _finish(emulator, record, cpu)
        raise
    _finish(emulator, record, cpu)
    return record


def _begin_cpu(emulator: Emulator, phase: str, initialization_type: str) -> InitCpu:
    """Init runs with the CPU of its kind (init_cpu.py), the function's own quota once it ends."""
    config = emulator.config
    cpu = init_cpu(config.init_cpu, phase, initialization_type, config.memory_mb, config.init_boost_vcpus)
    emulator.sandbox.set_cpu(cpu.vcpus)
    return cpu


def _finish(emulator: Emulator, record: InitRecord, cpu: InitCpu) -> None:
    emulator.sandbox.set_cpu(function_vcpus(emulator.config.memory_mb))
    record.cpu, record.limits = cpu, emulator.limits()
    emulator.telemetry.emit("platform.initRuntimeDone", records.init_runtime_done(emulator, record))
    for agent in emulator.registry.agents.values():
        emulator.telemetry.emit("platform.extension", records.extension(agent))
    emulator.telemetry.emit("platform.initReport", records.init_report(emulator, record))
    emulator.telemetry.close_init()
    emulator.inits.append(record)


async def _start_processes(emulator: Emulator, phase: str, started: float) -> InitRecord:
    deadline = started + emulator.config.effective_init_timeout_s
    function_env = emulator.function_env()
    ext_env = extension_environment(function_env)
    opt = emulator.paths.opt
    for path in extension_executables(emulator.opt):
        try:
            process = await emulator.launch(
                f"ext-{path.name}-{emulator.generation}", [f"{opt}/extensions/{path.name}"], ext_env, opt,
                lambda line: emulator.telemetry.emit_log("extension", line), label=path.name,
            )  # fmt: skip
        except LaunchError as error:
            raise InitFailed("error", "Extension.LaunchError", f"extension {path.name}: {error}") from None
        emulator.extensions.append(process)
    await _wait_or_fail(emulator, emulator.registry.external_registered, deadline, _unregistered)
    try:
        emulator.runtime_process = await emulator.launch(
            f"runtime-{emulator.generation}", emulator.config.runtime.command(), function_env, emulator.paths.task,
            lambda line: emulator.telemetry.emit_log("function", line),
        )  # fmt: skip
    except LaunchError as error:
        raise InitFailed("error", "Runtime.InvalidEntrypoint", f"runtime: {error}") from None
    await _wait_or_fail(emulator, lambda: _init_done(emulator), deadline, _not_waiting)
    emulator.registry.registration_open = False
    ready = {a.name: (a.ready_at - started) * 1000 for a in emulator.registry.agents.values() if a.ready_at}
    ready_at = emulator.runtime.next_at or emulator.runtime.restore.called_at
    runtime_ready = (ready_at - started) * 1000 if ready_at else None
    return InitRecord(phase, "success", _ms_since(started), ready, runtime_ready, processes=emulator.process_figures())


def _init_done(emulator: Emulator) -> bool:
    """The runtime waits on /next (LMI: at least one worker does; SnapStart: or on restore/next) and every
    extension on its /next."""
    runtime = emulator.runtime
    return (runtime.waiting or runtime.restore.waiting) and emulator.registry.all_waiting()


async def _wait_or_fail(
    emulator: Emulator, condition: Callable[[], bool], deadline: float, whom: Callable[[Emulator], str]
) -> None:
    def settled() -> bool:
        return bool(condition()) or _failed(emulator)

    if not await emulator.notifier.wait_until(settled, max(0.0, deadline - time.monotonic())):
        limit = emulator.config.effective_init_timeout_s
        raise InitFailed("timeout", "Sandbox.Timeout", f"init timed out after {limit:g} s waiting for {whom(emulator)}")
    if _failed(emulator):
        raise await _failure(emulator)


def _unregistered(emulator: Emulator) -> str:
    registered = {a.name for a in emulator.registry.agents.values()}
    missing = sorted(emulator.registry.external_names - registered)
    return "extensions to register: " + ", ".join(missing)


def _not_waiting(emulator: Emulator) -> str:
    runtime = emulator.runtime
    busy = [] if runtime.waiting or runtime.restore.waiting else ["the runtime"]
    busy += [f"extension {a.name}" for a in emulator.registry.agents.values() if not a.waiting]
    return ", ".join(busy) + " to call /next"


def _failed(emulator: Emulator) -> bool:
    registry, runtime = emulator.registry, emulator.runtime
    return registry.failed() is not None or runtime.init_error is not None or _dead(emulator) is not None


def _dead(emulator: Emulator) -> Process | None:
    return next((process for process in emulator.all_processes() if not process.alive), None)


async def _failure(emulator: Emulator) -> InitFailed:
    agent = emulator.registry.failed()
    if agent is not None:
        message = failures.reported_message(f"extension {agent.name}", agent.error_type or "", agent.error_body)
        return InitFailed("error", "Extension.InitError", message)
    if emulator.runtime.init_error is not None:
        error_type, body = emulator.runtime.init_error
        return InitFailed("error", error_type, failures.reported_message("runtime", error_type, body))
    process = _dead(emulator)
    assert process is not None
    process.kill_group()  # what it started must not hold its output open
    await process.exited()
    kind = "Runtime.ExitError" if process is emulator.runtime_process else "Extension.Crash"
    return InitFailed("error", kind, failures.exit_message(process))


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
