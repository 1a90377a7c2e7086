"""The init phase (lambda-api.md §5.1, §7.2): extensions start and register, then the runtime starts; init
ends when the runtime and every extension wait on /next, or fails (error or timeout) with Lambda's errorType.

A failed init is reported as Lambda reports it: initRuntimeDone and initReport with the status and errorType,
everything killed, and the next invoke runs init again (`phase: "invoke"`). Its record says which process
failed and how, in one line, with every process's last output (state/failures.py).

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
from dataclasses import dataclass
from pathlib import Path

from lambda_emulator.phases.measure import process_records
from lambda_emulator.phases.platform import Platform
from lambda_emulator.sandbox.figures import function_vcpus
from lambda_emulator.sandbox.limits import Sandbox
from lambda_emulator.sandbox.processes import LaunchError, Process
from lambda_emulator.sandbox.supervisor import Supervisor
from lambda_emulator.state import failures
from lambda_emulator.state.errors import InitFailed
from lambda_emulator.state.generation import Generation
from lambda_emulator.state.init_cpu import init_cpu
from lambda_emulator.state.measurements import InitCpu, InitRecord
from lambda_emulator.state.platform_env import extension_environment
from lambda_emulator.telemetry import platform_records as records


@dataclass(frozen=True, slots=True)
class InitPlan:
    """What one init starts: every executable of /opt/extensions, then the runtime."""

    phase: str
    """"init", or "invoke" for the re-init after a reset."""
    instance_id: str
    function_env: dict[str, str]
    """The runtime's variables; the extensions get them less the runtime-only ones."""
    extensions: list[Path]
    """The executables in /opt/extensions, found on the host (sorted)."""
    opt: str
    """/opt as the processes see it (their working directory)."""
    task: str
    """/var/task as the processes see it (the runtime's working directory)."""
    log_socket: Path | None = None
    """Lambda Managed Instances: the socket the runtime's workers connect their output to (its variable is in
    `function_env`)."""


async def run_init(
    plan: InitPlan, generation: Generation, platform: Platform, sandbox: Sandbox, supervisor: Supervisor
) -> InitRecord:
    """One init, from platform.initStart to platform.initReport, starting the processes into `generation`. A failed
    init is killed and its record says why (`status`, `error_type`, `error_message`, `output`)."""
    started = time.monotonic()
    config, telemetry = platform.config, platform.telemetry
    start = records.init_start(config, plan.instance_id, plan.phase)
    cpu = init_cpu(config.init_cpu, plan.phase, start["initializationType"], config.memory_mb, config.init_boost_vcpus)
    sandbox.set_cpu(cpu.vcpus)  # init runs with the CPU of its kind (init_cpu.py), the function's own after it
    telemetry.emit("platform.initStart", start)
    try:
        record = await _start_processes(plan, generation, platform, supervisor, sandbox, started)
    except InitFailed as failure:
        await supervisor.kill(generation.processes())
        output = failures.outputs(generation.processes())
        record = InitRecord(plan.phase, failure.status, _ms_since(started), error_type=failure.error_type,
                            error_message=failure.message, output=output)  # fmt: skip
    _finish(record, cpu, generation, platform, sandbox)
    return record


def _finish(record: InitRecord, cpu: InitCpu, generation: Generation, platform: Platform, sandbox: Sandbox) -> None:
    config, telemetry = platform.config, platform.telemetry
    sandbox.set_cpu(function_vcpus(config.memory_mb))
    record.cpu, record.limits = cpu, sandbox.limits(config.freeze)
    telemetry.emit("platform.initRuntimeDone", records.init_runtime_done(config, record))
    for agent in generation.registry.agents.values():
        telemetry.emit("platform.extension", records.extension(agent))
    telemetry.emit("platform.initReport", records.init_report(config, record))
    telemetry.close_init()


async def _start_processes(
    plan: InitPlan, generation: Generation, platform: Platform, supervisor: Supervisor, sandbox: Sandbox, started: float
) -> InitRecord:
    telemetry = platform.telemetry
    deadline = started + platform.config.effective_init_timeout_s
    ext_env = extension_environment(plan.function_env)
    for path in plan.extensions:
        try:
            process = await supervisor.launch(
                f"ext-{path.name}-{generation.number}", [f"{plan.opt}/extensions/{path.name}"], ext_env, plan.opt,
                lambda line: telemetry.emit_log("extension", line), label=path.name,
            )  # fmt: skip
        except LaunchError as error:
            raise InitFailed("error", "Extension.LaunchError", f"extension {path.name}: {error}") from None
        generation.extensions.append(process)
    await _wait_or_fail(generation, platform, generation.registry.external_registered, deadline, _unregistered)
    try:
        generation.runtime_process = await supervisor.launch(
            f"runtime-{generation.number}", platform.config.runtime.command(), plan.function_env, plan.task,
            lambda line: telemetry.emit_log("function", line), log_socket=plan.log_socket,
        )  # fmt: skip
    except LaunchError as error:
        raise InitFailed("error", "Runtime.InvalidEntrypoint", f"runtime: {error}") from None
    await _wait_or_fail(generation, platform, lambda: _init_done(generation), deadline, _not_waiting)
    generation.registry.registration_open = False
    agents = generation.registry.agents.values()
    ready = {a.name: (a.ready_at - started) * 1000 for a in agents if a.ready_at}
    ready_at = generation.runtime.next_at or generation.runtime.restore.called_at
    runtime_ready = (ready_at - started) * 1000 if ready_at else None
    figures = process_records(sandbox, generation.processes())
    return InitRecord(plan.phase, "success", _ms_since(started), ready, runtime_ready, processes=figures)


def _init_done(generation: Generation) -> bool:
    """The runtime waits on /next (LMI: at least one worker does; SnapStart: or on restore/next) and every
    extension on its /next."""
    runtime = generation.runtime
    return (runtime.waiting or runtime.restore.waiting) and generation.registry.all_waiting()


async def _wait_or_fail(
    generation: Generation,
    platform: Platform,
    condition: Callable[[], bool],
    deadline: float,
    whom: Callable[[Generation], str],
) -> None:
    def settled() -> bool:
        return bool(condition()) or _failed(generation)

    if not await platform.notifier.wait_until(settled, max(0.0, deadline - time.monotonic())):
        limit = platform.config.effective_init_timeout_s
        waiting_for = whom(generation)
        raise InitFailed("timeout", "Sandbox.Timeout", f"init timed out after {limit:g} s waiting for {waiting_for}")
    if _failed(generation):
        raise await _failure(generation)


def _unregistered(generation: Generation) -> str:
    registered = {a.name for a in generation.registry.agents.values()}
    missing = sorted(generation.registry.external_names - registered)
    return "extensions to register: " + ", ".join(missing)


def _not_waiting(generation: Generation) -> str:
    runtime = generation.runtime
    busy = [] if runtime.waiting or runtime.restore.waiting else ["the runtime"]
    busy += [f"extension {a.name}" for a in generation.registry.agents.values() if not a.waiting]
    return ", ".join(busy) + " to call /next"


def _failed(generation: Generation) -> bool:
    registry, runtime = generation.registry, generation.runtime
    return registry.failed() is not None or runtime.init_error is not None or _dead(generation) is not None


def _dead(generation: Generation) -> Process | None:
    return next((process for process in generation.processes() if not process.alive), None)


async def _failure(generation: Generation) -> InitFailed:
    agent = generation.registry.failed()
    if agent is not None:
        message = failures.reported_message(f"extension {agent.name}", agent.error_type or "", agent.error_body)
        return InitFailed("error", "Extension.InitError", message)
    if generation.runtime.init_error is not None:
        error_type, body = generation.runtime.init_error
        return InitFailed("error", error_type, failures.reported_message("runtime", error_type, body))
    process = _dead(generation)
    assert process is not None
    process.kill_group()  # what it started must not hold its output open
    await process.exited()
    kind = "Runtime.ExitError" if process is generation.runtime_process else "Extension.Crash"
    return InitFailed("error", kind, failures.exit_message(process))


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
