"""The execution environment's lifecycle: init, invoke, freeze/thaw, restore, reset and shutdown (lambda-api.md
§5, §7). `Emulator` is what tests and the CLI drive:

    async with Emulator(EmulatorConfig(layer=..., runtime=SimulatedRuntime())) as emulator:
        await emulator.start()                      # init (SnapStart: init, then the snapshot)
        await emulator.restore()                    # SnapStart: one restore of the snapshot
        await emulator.invoke(b'{"sleep_ms": 10}')  # LMI: may run concurrently; see invoke_concurrently()
        await emulator.shutdown()
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiohttp
from aiohttp import web

from lambda_emulator import records
from lambda_emulator.config import EmulatorConfig
from lambda_emulator.credentials import CredentialsEndpoint, CredentialsRequest
from lambda_emulator.errors import InitFailed
from lambda_emulator.extensions_api import ExtensionRegistry, FunctionInfo
from lambda_emulator.init_phase import run_init
from lambda_emulator.invoke import run_invoke
from lambda_emulator.isolation import Isolation, Paths, open_isolation
from lambda_emulator.launch import OnLine, Process, launch
from lambda_emulator.layer import extension_executables
from lambda_emulator.lmi import load_generator, run_lmi_invoke
from lambda_emulator.measurements import (
    InitRecord,
    InvokeRecord,
    Limits,
    ProcessRecord,
    RestoreRecord,
    ShutdownRecord,
)
from lambda_emulator.notify import Notifier
from lambda_emulator.platform_env import function_env, identity_for
from lambda_emulator.routes import ApiHandlers, serve
from lambda_emulator.runtime_api import Invocation, RuntimeState
from lambda_emulator.sandbox import Sandbox, create_sandbox
from lambda_emulator.shutdown import kill_everything, stop_environment
from lambda_emulator.snapstart import Snapshot, restore_snapshot, take_snapshot
from lambda_emulator.telemetry import TelemetryHub

__all__ = ["Emulator", "EmulatorConfig"]

RestoreHook = Callable[[], Awaitable[None] | None]


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.rules = config.rules
        self.isolation: Isolation
        """The environment's file system and names (isolation.py), made when the emulator is entered."""
        self.notifier = Notifier()
        self.sandbox: Sandbox = create_sandbox(config.memory_mb, config.use_cgroups)
        self.telemetry: TelemetryHub
        self.credentials = CredentialsEndpoint(identity_for(config), config.credentials_ttl_s) if (
            config.credentials_source == "container") else None  # fmt: skip
        self.runtime = self._new_runtime()
        self.registry: ExtensionRegistry
        self.extensions: list[Process] = []
        self.runtime_process: Process | None = None
        self.invocations: list[InvokeRecord] = []
        self.inits: list[InitRecord] = []
        self.restores: list[RestoreRecord] = []
        self.restore_hooks: list[RestoreHook] = []
        """Called at each restore while the environment is still frozen (a test's S3 proxy may drop its state)."""
        self.snapshot: Snapshot | None = None
        self.shutdown_record: ShutdownRecord | None = None
        self.generation = 0
        self.instance_id = records.instance_id(config)
        self.in_flight = 0
        self.peak_in_flight = 0
        """LMI: the most invocations in flight at once (released to a worker, not yet answered)."""
        self.frozen_at: float | None = None
        self._watchers: list[asyncio.Task[None]] = []
        self._invoke_marks: dict[str, int] = {}
        self._runtime_mark = 0
        self._needs_init = True
        self._pending_init: InitRecord | None = None
        self._pending_restore: RestoreRecord | None = None
        self._initialised = False
        self._init_lock = asyncio.Lock()
        self._reset_lock = asyncio.Lock()
        self._one_at_a_time = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.api_address = ""

    # -- setup and teardown ------------------------------------------------------------------------------
    async def __aenter__(self) -> Emulator:
        """Merge the layers and make the file system (LayerError, NamespaceUnavailable), serve the APIs."""
        try:
            self.isolation = await open_isolation(self.config)
        except BaseException:
            self.sandbox.destroy()
            raise
        try:
            await self._serve()
        except BaseException:
            if self._session is not None:
                await self._session.close()
            self.sandbox.destroy()
            await self.isolation.close()
            raise
        return self

    async def _serve(self) -> None:
        self._session = aiohttp.ClientSession()
        self.telemetry = TelemetryHub(self._session, json_logs=self.config.log_format == "JSON")
        self._new_registry()
        handlers = ApiHandlers(self.runtime, self.registry, self.telemetry, lambda: self.registry.registration_open,
                               self.rules.schema_versions, self.credentials, self.isolation.address)  # fmt: skip
        self._handlers = handlers
        self._runner, self.api_address = await serve(handlers)

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
        await self.isolation.close()

    @property
    def opt(self) -> Path:
        """The merged layers on the host (the environment's processes see them at `paths.opt`)."""
        return self.isolation.host_opt

    @property
    def paths(self) -> Paths:
        """Where the environment's processes find /opt and the function's code (/var/task)."""
        return self.isolation.paths(self.config.runtime.code_dir)

    @property
    def sandbox_address(self) -> str:
        """What sandbox.localdomain resolves to in the environment (127.0.0.1 without a namespace)."""
        return self.isolation.address

    @property
    def credentials_requests(self) -> list[CredentialsRequest]:
        """Every request the container credentials endpoint got, with whether its token was right."""
        return list(self.credentials.requests) if self.credentials is not None else []

    @property
    def api_port(self) -> int:
        return int(self.api_address.rsplit(":", 1)[1])

    def _new_runtime(self) -> RuntimeState:
        runtime = RuntimeState(self.notifier, self.config.concurrency)
        runtime.restore.enabled = self.rules.restores
        return runtime

    def _new_generation(self) -> None:
        """After a reset: new processes, new registrations, new subscriptions (lambda-api.md §3.13)."""
        self.extensions, self.runtime_process = [], None
        self.runtime = self._new_runtime()
        self._handlers.runtime = self.runtime
        self._new_registry()
        self.telemetry.reopen_init()

    def _new_registry(self) -> None:
        names = {p.name for p in extension_executables(self.opt)}
        info = FunctionInfo(self.config.function_name, self.config.function_version, "handler", records.ACCOUNT_ID)
        self.registry = ExtensionRegistry(names, info, self.notifier, lmi=self.rules.mode == "lmi")
        if hasattr(self, "_handlers"):
            self._handlers.registry = self.registry

    async def launch(
        self, name: str, argv: list[str], env: dict[str, str], cwd: str, on_line: OnLine, label: str = "runtime"
    ) -> Process:
        """Start a process of the environment: in its cgroups and its namespace, at `cwd` as seen inside."""
        preexec, popen_cwd = self.isolation.spawn(cwd, self.sandbox.preexec(name))
        process = await launch(name, argv, env, popen_cwd, preexec, on_line, label)
        self.sandbox.adopt(name, process.pid)
        self._watchers.append(asyncio.create_task(self._notify_exit(process)))
        return process

    async def kill_everything(self) -> None:
        await kill_everything(self)

    async def _notify_exit(self, process: Process) -> None:
        await process.process.wait()
        self.notifier.notify()

    def all_processes(self) -> list[Process]:
        return [*self.extensions, *([self.runtime_process] if self.runtime_process else [])]

    def function_env(self) -> dict[str, str]:
        return function_env(self.config, self.api_address, self.instance_id, self.paths.task, self.credentials)

    def new_instance_id(self) -> None:
        """A restored copy has a log stream (instanceId) of its own."""
        self.instance_id = records.instance_id(self.config)

    # -- init --------------------------------------------------------------------------------------------
    async def start(self) -> InitRecord:
        """Run the init phase now, then freeze until the first event (SnapStart: freeze = the snapshot)."""
        record = await self._init("init")
        if self.rules.restores:
            await take_snapshot(self)
        else:
            await self.freeze()
        return record

    async def _init(self, phase: str) -> InitRecord:
        self.generation += 1
        self._needs_init = False
        self._initialised = True
        if self.generation > 1:
            self._new_generation()
        if self.credentials is not None:
            self.credentials.phase = "init"
        if self.rules.restores and phase == "init":
            self.telemetry.pause()  # the snapshot's init delivers nothing; every restore delivers it all
        try:
            record = await run_init(self, phase)
        except InitFailed:
            self._needs_init = True
            raise
        self._pending_init = None if (self.rules.restores and phase == "init") else record
        return record

    def limits(self) -> Limits:
        """What enforces Lambda's limits here; every record carries it ("no limits" when `enforced` is false)."""
        return self.sandbox.limits(self.config.freeze)

    async def ensure_initialised(self) -> InitRecord | None:
        async with self._init_lock:
            if not self._needs_init:
                return None
            phase = "init" if self.generation == 0 or self.rules.concurrent else "invoke"
            return await self._init(phase)

    def take_pending_init(self) -> InitRecord | None:
        record, self._pending_init = self._pending_init, None
        return record

    def take_pending_restore(self) -> RestoreRecord | None:
        record, self._pending_restore = self._pending_restore, None
        return record

    # -- freeze ------------------------------------------------------------------------------------------
    async def freeze(self) -> None:
        if not self.rules.freezes:
            return
        self.telemetry.pause()
        self.frozen_at = time.monotonic()
        if self.config.freeze:
            await self.sandbox.freeze()

    async def thaw(self) -> None:
        if self.sandbox.frozen:
            await self.sandbox.thaw()
        self.telemetry.resume()

    # -- restore (SnapStart) -----------------------------------------------------------------------------
    async def restore(self) -> RestoreRecord:
        """One restore of the snapshot; the environment is frozen again afterwards, until an invoke."""
        async with self._one_at_a_time:
            return await self._restore()

    async def _restore(self) -> RestoreRecord:
        record = await restore_snapshot(self)
        self.restores.append(record)
        self._pending_restore = record if record.status == "success" else None
        return record

    # -- invoke ------------------------------------------------------------------------------------------
    async def invoke(self, payload: bytes = b"{}") -> InvokeRecord:
        """One invoke. LMI: callable from several tasks at once; otherwise they are served one at a time (and
        SnapStart's first invoke restores the snapshot if restore() was not called)."""
        if self.rules.concurrent:
            record = await run_lmi_invoke(self, payload)
        else:
            async with self._one_at_a_time:
                if self.rules.restores and not self.restores and self.snapshot is not None:
                    await self._restore()
                record = await run_invoke(self, payload)
        record.limits = self.limits()
        return record

    async def invoke_concurrently(
        self, payloads: Sequence[bytes], concurrency: int | None = None, progress: Callable[[int], None] | None = None
    ) -> list[InvokeRecord]:
        """A load generator: `concurrency` callers (default: the configured one) share `payloads`; the records
        come back in payload order."""
        return await load_generator(self, payloads, concurrency or self.config.concurrency, progress)

    def new_invocation(self, payload: bytes) -> Invocation:
        if self.credentials is not None:
            self.credentials.phase = "invoke"
        return records.invocation(self.config, payload)

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
        return await stop_environment(self, reason)

    async def reset(self, reason: str, generation: int) -> None:
        """Stop the environment once, whichever of several concurrent invokes noticed the failure first."""
        async with self._reset_lock:
            if self.generation == generation and not self._needs_init:
                await self.stop_environment(reason)

    def mark_stopped(self) -> None:
        self._needs_init = True

    @property
    def stopped(self) -> bool:
        return self._needs_init
