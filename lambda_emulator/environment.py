"""The execution environment's lifecycle: init, invoke, freeze/thaw, reset and shutdown (lambda-api.md §5, §7).

`Emulator` is what tests and the CLI drive:

    async with Emulator(EmulatorConfig(layer=..., runtime=SimulatedRuntime())) as emulator:
        await emulator.invoke(b'{"sleep_ms": 10}')
        await emulator.shutdown()
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web

from lambda_emulator import records
from lambda_emulator.errors import InitFailed
from lambda_emulator.extensions_api import ExtensionRegistry, FunctionInfo
from lambda_emulator.init_cpu import DEFAULT_BOOST_VCPUS, InitCpuPolicy, function_vcpus, init_cpu
from lambda_emulator.init_phase import run_init
from lambda_emulator.invoke import run_invoke
from lambda_emulator.launch import Process, launch
from lambda_emulator.layer import extension_executables, function_environment, unpack_layer
from lambda_emulator.measurements import (
    ExtensionExit,
    InitCpu,
    InitRecord,
    InvokeRecord,
    Limits,
    ProcessRecord,
    ShutdownRecord,
)
from lambda_emulator.notify import Notifier
from lambda_emulator.routes import ApiHandlers, build_app
from lambda_emulator.runtime_api import Invocation, RuntimeState
from lambda_emulator.runtimes import RuntimeSpec
from lambda_emulator.sandbox import Sandbox, create_sandbox
from lambda_emulator.telemetry import TelemetryHub

SHUTDOWN_TOTAL_S: Final = 2.0
RUNTIME_SIGTERM_S: Final = 0.3
ACCOUNT_ID: Final = "123456789012"


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    runtime: RuntimeSpec
    layer: Path | None = None
    memory_mb: int = 128
    timeout_s: float = 3.0
    env: dict[str, str] = field(default_factory=dict)
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    init_timeout_s: float = 10.0
    freeze: bool = True
    use_cgroups: bool | None = None
    """None: the limits the host can give; True: limits required (else SandboxUnavailable); False: none."""
    init_cpu: InitCpuPolicy = InitCpuPolicy.AUTO
    """CPU during init (init_cpu.py): auto by kind of init, or boosted / throttled for every init."""
    init_boost_vcpus: float = DEFAULT_BOOST_VCPUS
    """A boosted init's CPU, in cores: 1 (Datadog, 2025) or 2 (van Donkersgoed, 2022)."""


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._tmp = tempfile.TemporaryDirectory(prefix="lambda-emulator-")
        self.opt = Path(self._tmp.name) / "opt"
        self.task_root = Path(self._tmp.name) / "task"
        self.notifier = Notifier()
        self.sandbox: Sandbox = create_sandbox(config.memory_mb, config.use_cgroups)
        self.telemetry: TelemetryHub
        self.runtime = RuntimeState(self.notifier)
        self.registry: ExtensionRegistry
        self.extensions: list[Process] = []
        self.runtime_process: Process | None = None
        self.invocations: list[InvokeRecord] = []
        self.inits: list[InitRecord] = []
        self.shutdown_record: ShutdownRecord | None = None
        self.generation = 0
        self._watchers: list[asyncio.Task[None]] = []
        self._invoke_marks: dict[str, int] = {}
        self._runtime_mark = 0
        self._needs_init = True
        self._pending_init: InitRecord | None = None
        self._initialised = False
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.api_address = ""

    # -- setup and teardown ------------------------------------------------------------------------------
    async def __aenter__(self) -> Emulator:
        self.opt.mkdir(parents=True)
        self.task_root.mkdir(parents=True)
        if self.config.layer is not None:
            unpack_layer(self.config.layer, self.opt)
        self._session = aiohttp.ClientSession()
        self.telemetry = TelemetryHub(self._session)
        self._new_registry()
        handlers = ApiHandlers(self.runtime, self.registry, self.telemetry, lambda: self.registry.registration_open)
        self._handlers = handlers
        # Long-polls (/next) of processes that are gone must not hold the server's cleanup for 60 s.
        self._runner = web.AppRunner(
            build_app(handlers), access_log=None, handle_signals=False, handler_cancellation=True, shutdown_timeout=1
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.api_address = f"127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.shutdown_record is None and self._initialised:
            await self.shutdown()
        for process in self.all_processes():
            process.kill_group()
        await self.telemetry.close()
        for watcher in self._watchers:
            watcher.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        self.sandbox.destroy()
        self._tmp.cleanup()

    def _new_generation(self) -> None:
        """After a reset: new processes, new registrations, new subscriptions (lambda-api.md §3.13)."""
        self.extensions, self.runtime_process = [], None
        self.runtime = RuntimeState(self.notifier)
        self._handlers.runtime = self.runtime
        self._new_registry()
        self.telemetry.reopen_init()

    def _new_registry(self) -> None:
        names = {p.name for p in extension_executables(self.opt)}
        info = FunctionInfo(self.config.function_name, self.config.function_version, "handler", ACCOUNT_ID)
        self.registry = ExtensionRegistry(names, info, self.notifier)
        if hasattr(self, "_handlers"):
            self._handlers.registry = self.registry

    async def launch(self, *args: Any, **kwargs: Any) -> Process:
        process = await launch(*args, **kwargs)
        self._watchers.append(asyncio.create_task(self._notify_exit(process)))
        return process

    async def _notify_exit(self, process: Process) -> None:
        await process.process.wait()
        self.notifier.notify()

    def all_processes(self) -> list[Process]:
        return [*self.extensions, *([self.runtime_process] if self.runtime_process else [])]

    # -- environment variables ---------------------------------------------------------------------------
    def function_env(self) -> dict[str, str]:
        config = self.config
        platform = {
            "AWS_LAMBDA_RUNTIME_API": self.api_address,
            "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.function_version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.instance_id,
            "LAMBDA_TASK_ROOT": str(self.task_root),
        }
        platform.update(self.config.runtime.environment())
        return function_environment(config.env, platform)

    @property
    def instance_id(self) -> str:
        day = time.strftime("%Y/%m/%d", time.gmtime())
        return f"{day}/{self.config.function_name}[{self.config.function_version}]{id(self):032x}"

    # -- init --------------------------------------------------------------------------------------------
    async def start(self) -> InitRecord:
        """Run the init phase now (on-demand init), then freeze until the first invoke."""
        record = await self._init("init")
        await self.freeze()
        return record

    async def _init(self, phase: str) -> InitRecord:
        started = time.monotonic()
        self.generation += 1
        self._needs_init = False
        self._initialised = True
        if self.generation > 1:
            self._new_generation()
        start = records.init_start(self, phase)
        cpu = self._begin_init_cpu(phase, start["initializationType"])
        self.telemetry.emit("platform.initStart", start)
        try:
            record = await run_init(self, phase, started)
        except InitFailed as failure:
            record = InitRecord(phase, failure.status, _ms_since(started), error_type=failure.error_type)
            self._end_init_cpu(record, cpu)
            self._emit_init_end(record)
            await self._kill_everything()
            self._needs_init = True
            self.inits.append(record)
            raise
        self._end_init_cpu(record, cpu)
        self._emit_init_end(record)
        self.inits.append(record)
        self._pending_init = record
        return record

    def _begin_init_cpu(self, phase: str, initialization_type: str) -> InitCpu:
        """Init runs with the CPU of its kind (init_cpu.py), the function's own quota once it ends."""
        config = self.config
        cpu = init_cpu(config.init_cpu, phase, initialization_type, config.memory_mb, config.init_boost_vcpus)
        self.sandbox.set_cpu(cpu.vcpus)
        return cpu

    def _end_init_cpu(self, record: InitRecord, cpu: InitCpu) -> None:
        self.sandbox.set_cpu(function_vcpus(self.config.memory_mb))
        record.cpu, record.limits = cpu, self.limits()

    def limits(self) -> Limits:
        """What enforces Lambda's limits here; every record carries it ("no limits" when `enforced` is false)."""
        return self.sandbox.limits(self.config.freeze)

    def _emit_init_end(self, record: InitRecord) -> None:
        self.telemetry.emit("platform.initRuntimeDone", records.init_runtime_done(record))
        for agent in self.registry.agents.values():
            self.telemetry.emit("platform.extension", records.extension(agent))
        self.telemetry.emit("platform.initReport", records.init_report(record))
        self.telemetry.close_init()

    # -- freeze ------------------------------------------------------------------------------------------
    async def freeze(self) -> None:
        self.telemetry.pause()
        if self.config.freeze:
            await self.sandbox.freeze()

    async def thaw(self) -> None:
        if self.sandbox.frozen:
            await self.sandbox.thaw()
        self.telemetry.resume()

    # -- invoke ------------------------------------------------------------------------------------------
    async def invoke(self, payload: bytes = b"{}") -> InvokeRecord:
        record = await run_invoke(self, payload)
        record.limits = self.limits()
        return record

    async def ensure_initialised(self) -> InitRecord | None:
        if not self._needs_init:
            return None
        phase = "init" if self.generation == 0 else "invoke"
        return await self._init(phase)

    def take_pending_init(self) -> InitRecord | None:
        record, self._pending_init = self._pending_init, None
        return record

    def new_invocation(self, payload: bytes) -> Invocation:
        request_id = str(uuid.uuid4())
        deadline_ms = int((time.time() + self.config.timeout_s) * 1000)
        arn = f"arn:aws:lambda:{self.config.region}:{ACCOUNT_ID}:function:{self.config.function_name}"
        trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"
        return Invocation(request_id, payload, deadline_ms, arn, trace)

    def process_figures(self) -> dict[str, ProcessRecord]:
        return {process.name: self.process_record(process.name) for process in self.all_processes()}

    def process_record(self, name: str) -> ProcessRecord:
        measured = self.sandbox.figures(name)
        return ProcessRecord(round(measured.cpu_ms, 3), round(measured.peak_rss_bytes / 2**20, 2))

    def max_memory_used_mb(self) -> int:
        return math.ceil(self.sandbox.max_memory_bytes() / 2**20)

    # -- shutdown and reset ------------------------------------------------------------------------------
    async def shutdown(self, reason: str = "spindown") -> ShutdownRecord:
        """Spin the environment down: SIGTERM the runtime, SHUTDOWN to extensions, SIGKILL at the deadline."""
        record = await self.stop_environment(reason)
        self.shutdown_record = record
        return record

    async def stop_environment(self, reason: str) -> ShutdownRecord:
        await self.thaw()
        started = time.monotonic()
        deadline_ms = int(time.time() * 1000 + SHUTDOWN_TOTAL_S * 1000)
        await self._stop_runtime(graceful=bool(self.registry.agents))
        self.registry.send("SHUTDOWN", {"eventType": "SHUTDOWN", "deadlineMs": deadline_ms, "shutdownReason": reason})
        shutdown_names = {a.name for a in self.registry.subscribed("SHUTDOWN")}
        exits: dict[str, ExtensionExit] = {}
        waits = []
        for process in self.extensions:
            if process.label not in shutdown_names:
                process.kill_group()
            waits.append(process.exited())
        remaining = started + SHUTDOWN_TOTAL_S - time.monotonic()
        if waits:
            await asyncio.wait([asyncio.ensure_future(w) for w in waits], timeout=max(0.0, remaining))
        for process in self.extensions:
            in_time = not process.alive
            process.kill_group()
            code = await process.exited()
            figures = self.process_record(process.name)
            exits[process.name] = ExtensionExit(code, in_time, figures.cpu_ms, figures.peak_rss_mb)
        await self.telemetry.drained(0.05)
        self._needs_init = True
        return ShutdownRecord(reason, _ms_since(started), deadline_ms, exits, self.limits())

    async def _stop_runtime(self, graceful: bool) -> None:
        process = self.runtime_process
        if process is None or not process.alive:
            return
        if graceful:
            process.signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.exited(), RUNTIME_SIGTERM_S)
        process.kill_group()
        await process.exited()

    async def _kill_everything(self) -> None:
        for process in self.all_processes():
            process.kill_group()
            await process.exited()


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
