"""One execution environment, driven as Lambda drives it (lambda-api.md §5, §7). `Emulator` is what tests and the
CLI drive, and the composition root: it makes the sandbox, serves the APIs, and runs the phases in order, handing
each only what it uses.

    async with Emulator(EmulatorConfig(layer=..., runtime=SimulatedRuntime())) as emulator:
        await emulator.start()                      # init (SnapStart: init, then the snapshot)
        await emulator.restore()                    # SnapStart: one restore of the snapshot
        await emulator.invoke(b'{"sleep_ms": 10}')  # LMI: may run concurrently; see invoke_concurrently()
        await emulator.shutdown()
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from lambda_emulator.emulator.parts import Parts
from lambda_emulator.phases.concurrent import InFlight, load_generator, run_concurrent_invoke
from lambda_emulator.phases.init import InitPlan, run_init
from lambda_emulator.phases.invoke import failed_init_record, run_invoke
from lambda_emulator.phases.platform import Platform
from lambda_emulator.phases.restore import Restore, RestoreHook, Snapshot, restorable, restore_snapshot, take_snapshot
from lambda_emulator.phases.shutdown import stop_environment
from lambda_emulator.sandbox.isolation import Isolation, Paths
from lambda_emulator.sandbox.layers import extension_executables
from lambda_emulator.sandbox.limits import Sandbox, create_sandbox
from lambda_emulator.sandbox.processes import Process
from lambda_emulator.state import failures, ids
from lambda_emulator.state.config import EmulatorConfig
from lambda_emulator.state.credentials import CredentialsEndpoint, CredentialsRequest
from lambda_emulator.state.errors import InitFailed
from lambda_emulator.state.extensions import ExtensionRegistry
from lambda_emulator.state.generation import new_generation
from lambda_emulator.state.measurements import InitRecord, InvokeRecord, RestoreRecord, ShutdownRecord
from lambda_emulator.state.notify import Notifier
from lambda_emulator.state.platform_env import function_env, identity_for
from lambda_emulator.state.runtime import Invocation
from lambda_emulator.telemetry.hub import TelemetryHub

__all__ = ["Emulator", "EmulatorConfig"]


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.rules = config.rules
        self.notifier = Notifier()
        self.sandbox: Sandbox = create_sandbox(config.memory_mb, config.use_cgroups)
        self.isolation: Isolation
        """The environment's file system and names (sandbox/isolation.py), made when the emulator is entered."""
        self.telemetry: TelemetryHub
        self.credentials = CredentialsEndpoint(identity_for(config), config.credentials_ttl_s) if (
            config.credentials_source == "container") else None  # fmt: skip
        self.current = new_generation(0, config, self.notifier, set())
        """The processes of the latest init and the API state they drive."""
        self.invocations: list[InvokeRecord] = []
        self.inits: list[InitRecord] = []
        self.restores: list[RestoreRecord] = []
        self.restore_hooks: list[RestoreHook] = []
        """Called at each restore while the environment is still frozen (a test's S3 proxy may drop its state)."""
        self.snapshot: Snapshot | None = None
        self.shutdown_record: ShutdownRecord | None = None
        self.instance_id = ids.instance_id(config)
        self.in_flight = InFlight()
        self._needs_init = True
        self._pending_init: InitRecord | None = None
        self._pending_restore: RestoreRecord | None = None
        self._initialised = False
        self._init_lock = asyncio.Lock()
        self._reset_lock = asyncio.Lock()
        self._one_at_a_time = asyncio.Lock()
        self._parts: Parts
        self.api_address = ""

    # -- setup and teardown ------------------------------------------------------------------------------
    async def __aenter__(self) -> Emulator:
        """Merge the layers and make the file system (LayerError, NamespaceUnavailable), serve the APIs."""
        self._parts = await Parts.open(self.config, self.sandbox, self.notifier, lambda: self.current, self.credentials)
        self.isolation, self.telemetry = self._parts.isolation, self._parts.telemetry
        self.api_address = self._parts.api_address
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.shutdown_record is None and self._initialised:
            await self.shutdown()
        for process in self.current.processes():
            process.kill_group()
        await self._parts.close(self.sandbox)

    # -- what tests and the CLI read -----------------------------------------------------------------------
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
    def registry(self) -> ExtensionRegistry:
        return self.current.registry

    @property
    def extensions(self) -> list[Process]:
        return self.current.extensions

    @property
    def runtime_process(self) -> Process | None:
        return self.current.runtime_process

    @property
    def peak_in_flight(self) -> int:
        """LMI: the most invocations in flight at once (released to a worker, not yet answered)."""
        return self.in_flight.peak

    def function_env(self) -> dict[str, str]:
        socket = str(self._parts.log_socket) if self._parts.log_socket else None
        return function_env(self.config, self.api_address, self.instance_id, self.paths.task, self.credentials, socket)

    # -- the parts the phases get --------------------------------------------------------------------------
    @property
    def _platform(self) -> Platform:
        return Platform(self.config, self.telemetry, self.notifier)

    def _new_generation(self) -> None:
        """After a reset: new processes, new registrations, new subscriptions (lambda-api.md §3.13)."""
        number = self.current.number + 1
        if number > 1:
            self.current = new_generation(number, self.config, self.notifier, self._parts.extension_names())
            self._parts.serve_generation(self.current)
            self.telemetry.reopen_init()
        else:
            self.current.number = number

    # -- init --------------------------------------------------------------------------------------------
    async def start(self) -> InitRecord:
        """Run the init phase now, then freeze until the first event (SnapStart: freeze = the snapshot)."""
        record = await self._init("init")
        await self._parts.freezer.freeze()
        if self.rules.restores:
            self.snapshot = take_snapshot(self.telemetry)
        return record

    async def _init(self, phase: str) -> InitRecord:
        self._new_generation()
        self._needs_init = False
        self._initialised = True
        if self.credentials is not None:
            self.credentials.phase = "init"
        if self.rules.restores and phase == "init":
            self.telemetry.pause()  # the snapshot's init delivers nothing; every restore delivers it all
        paths, extensions = self.paths, extension_executables(self.isolation.host_opt)
        plan = InitPlan(phase, self.instance_id, self.function_env(), extensions, paths.opt, paths.task,
                        self._parts.log_socket)  # fmt: skip
        record = await run_init(plan, self.current, self._platform, self.sandbox, self._parts.supervisor)
        self.inits.append(record)
        if record.status != "success":
            self._needs_init = True
            raise InitFailed(record.status, record.error_type or "", record.error_message or "")
        self._pending_init = None if (self.rules.restores and phase == "init") else record
        return record

    async def _ensure_initialised(self) -> InitRecord | None:
        """Init again after a reset (`phase: "invoke"`; on LMI a new environment's `init`); the init this invoke is
        the first after, if any."""
        async with self._init_lock:
            if self._needs_init:
                phase = "init" if self.current.number == 0 or self.rules.concurrent else "invoke"
                await self._init(phase)
        record, self._pending_init = self._pending_init, None
        return record

    # -- freeze ------------------------------------------------------------------------------------------
    async def freeze(self) -> None:
        await self._parts.freezer.freeze()

    async def thaw(self) -> None:
        await self._parts.freezer.thaw()

    # -- restore (SnapStart) -----------------------------------------------------------------------------
    async def restore(self) -> RestoreRecord:
        """One restore of the snapshot; the environment is frozen again afterwards, until an invoke."""
        async with self._one_at_a_time:
            return await self._restore()

    async def _restore(self) -> RestoreRecord:
        snapshot = restorable(self.snapshot, self.rules.mode, stopped=self._needs_init)
        api_port = int(self.api_address.rsplit(":", 1)[1])
        restore = Restore(snapshot, len(self.restores) + 1, self.restore_hooks, api_port)
        record = await restore_snapshot(restore, self._renew, self.current, self._platform, self._parts.freezer,
                                        self.sandbox)  # fmt: skip
        if record.status == "success":
            await self._parts.freezer.freeze()
        else:
            await self._stop_environment("failure")
        self.restores.append(record)
        self._pending_restore = record if record.status == "success" else None
        return record

    def _renew(self) -> str:
        """A restored copy: new credentials (RIE `UpdateCredentials`) and a log stream (instanceId) of its own."""
        if self.credentials is not None:
            self.credentials.issue()
            self.credentials.phase = "restore"
        self.instance_id = ids.instance_id(self.config)
        return self.instance_id

    # -- invoke ------------------------------------------------------------------------------------------
    async def invoke(self, payload: bytes = b"{}") -> InvokeRecord:
        """One invoke. LMI: callable from several tasks at once; otherwise they are served one at a time (and
        SnapStart's first invoke restores the snapshot if restore() was not called)."""
        if self.rules.concurrent:
            record = await self._concurrent_invoke(payload)
        else:
            async with self._one_at_a_time:
                if self.rules.restores and not self.restores and self.snapshot is not None:
                    await self._restore()
                record = await self._invoke(payload)
        record.limits = self.sandbox.limits(self.config.freeze)
        return record

    async def _invoke(self, payload: bytes) -> InvokeRecord:
        try:
            init = await self._ensure_initialised()
        except InitFailed:
            return failed_init_record(self.inits[-1])
        restore, self._pending_restore = self._pending_restore, None
        await self._parts.freezer.thaw()
        invocation = self._new_invocation(payload)
        record, outcome = await run_invoke(invocation, self.current, self._platform, self.sandbox, init, restore)
        if outcome.reset_reason is not None:
            await self._stop_environment(outcome.reset_reason)
            record.error_message = outcome.message
            record.output = failures.outputs(self.current.processes())
        else:
            await self._parts.freezer.freeze()
        self.invocations.append(record)
        return record

    async def _concurrent_invoke(self, payload: bytes) -> InvokeRecord:
        try:
            init = await self._ensure_initialised()
        except InitFailed:
            return failed_init_record(self.inits[-1])
        generation = self.current

        def new_invocation() -> Invocation:
            return self._new_invocation(payload)

        record, crashed = await run_concurrent_invoke(new_invocation, generation, self._platform, self.sandbox, init,
                                                      self.in_flight)  # fmt: skip
        if record.request_id:  # an invoke that found no worker never ran: no record of it
            self.invocations.append(record)
        if crashed:
            dead = next((p for p in generation.processes() if not p.alive), None)
            await self.reset("failure", generation.number)
            record.error_message = failures.exit_message(dead) if dead is not None else None
            record.output = failures.outputs(self.current.processes())
        return record

    async def invoke_concurrently(
        self, payloads: Sequence[bytes], concurrency: int | None = None, progress: Callable[[int], None] | None = None
    ) -> list[InvokeRecord]:
        """A load generator: `concurrency` callers (default: the configured one) share `payloads`; the records
        come back in payload order."""
        return await load_generator(self.invoke, payloads, concurrency or self.config.concurrency, progress)

    def _new_invocation(self, payload: bytes) -> Invocation:
        if self.credentials is not None:
            self.credentials.phase = "invoke"
        return ids.new_invocation(self.config, payload)

    # -- shutdown and reset ------------------------------------------------------------------------------
    async def shutdown(self, reason: str = "spindown") -> ShutdownRecord:
        """Spin the environment down: SIGTERM the runtime, SHUTDOWN to extensions, SIGKILL at the deadline."""
        record = await self._stop_environment(reason)
        self.shutdown_record = record
        return record

    async def _stop_environment(self, reason: str) -> ShutdownRecord:
        if self.credentials is not None:
            self.credentials.phase = "shutdown"
        await self._parts.freezer.thaw()
        record = await stop_environment(reason, self.current, self._platform, self.sandbox)
        self._needs_init = True
        return record

    async def reset(self, reason: str, generation: int) -> None:
        """Stop the environment once, whichever of several concurrent invokes noticed the failure first."""
        async with self._reset_lock:
            if self.current.number == generation and not self._needs_init:
                await self._stop_environment(reason)
