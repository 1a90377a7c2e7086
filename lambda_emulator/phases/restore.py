"""SnapStart: the snapshot after init, and restores of it (lambda-api.md §3.8; RIE `rapid/handlers.go`
`handleRestore`; SnapStart docs).

A real snapshot of the processes is impossible here (CRIU fails on this kernel), so every restore thaws the
*same* processes, after making them see what a restored copy sees (README, "SnapStart"):

1. the wall-clock gap: the environment stays frozen `restore_gap_s` since the snapshot (or the last restore);
2. the restore hooks of the test run (still frozen), then every outward TCP connection of every process of the
   environment is destroyed (`sandbox/connections.py`); loopback connections to the Runtime API survive, as they are
   inside the snapshot;
3. new credentials from the container endpoint (RIE `UpdateCredentials`), a new instanceId (log stream);
4. the telemetry the snapshot held undelivered (all of init's: the snapshot's init delivers nothing) is
   delivered at the first restore; later restores continue the same processes, whose memory already holds
   it, so it is delivered again only with `redeliver_snapshot_telemetry` (a stream no real copy sees: the
   snapshot's memory together with its backlog a second time);
5. `platform.restoreStart`, thaw, the runtime's `restore/next` released (its after-restore hooks run), and
   the restore ends when the runtime calls `/next` (RIE `AwaitRuntimeReady`), within 10 s; a runtime that
   was not waiting on `restore/next` is done at once (RIE: "just returning");
6. `platform.restoreRuntimeDone` and `platform.restoreReport`; frozen again until the first invoke, whose
   `platform.report` carries `restoreDurationMs`.
Extensions get no event at a restore: their `/next`, pending since the snapshot, returns the next INVOKE.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from lambda_emulator.phases.freezer import Freezer
from lambda_emulator.phases.measure import process_records
from lambda_emulator.phases.platform import Platform
from lambda_emulator.sandbox.connections import CutResult, cut_outward, session_members
from lambda_emulator.sandbox.limits import Sandbox
from lambda_emulator.state.errors import EmulatorError
from lambda_emulator.state.generation import Generation
from lambda_emulator.state.measurements import RestoreRecord
from lambda_emulator.state.modes import RESTORE_TIMEOUT_S
from lambda_emulator.telemetry import platform_records as records
from lambda_emulator.telemetry.hub import Subscriber, TelemetryHub

RestoreHook = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: float
    """Wall-clock time of the snapshot."""
    held: list[tuple[Subscriber, list[bytes]]]
    """Telemetry the platform had not delivered when the snapshot was taken."""


def take_snapshot(telemetry: TelemetryHub) -> Snapshot:
    """The snapshot of a frozen environment: the time, and the telemetry not delivered yet."""
    return Snapshot(time.time(), telemetry.held())


def restorable(snapshot: Snapshot | None, mode: str, stopped: bool) -> Snapshot:
    """The snapshot to restore; EmulatorError when there is none, or its processes were stopped."""
    if mode != "snapstart":
        raise EmulatorError(f"restore() is for snapstart mode, not {mode}")
    if snapshot is None:
        raise EmulatorError("restore() needs start() first: init, then the snapshot")
    if stopped:
        raise EmulatorError("the environment was stopped; its processes cannot be restored again here")
    return snapshot


@dataclass(frozen=True, slots=True)
class Restore:
    """One restore of the snapshot: which one, the test's hooks, and the Runtime API's port (kept connected)."""

    snapshot: Snapshot
    number: int
    hooks: Sequence[RestoreHook]
    api_port: int


async def restore_snapshot(
    restore: Restore,
    renew: Callable[[], str],
    generation: Generation,
    platform: Platform,
    freezer: Freezer,
    sandbox: Sandbox,
) -> RestoreRecord:
    """Restore the frozen environment once; `renew` issues the restored copy's credentials and instance id (which it
    returns). The environment is left thawed: the caller freezes it again, or stops it if the restore failed."""
    config, telemetry = platform.config, platform.telemetry
    gap_s = await _wait_gap(freezer.frozen_at, config.restore_gap_s)
    for hook in restore.hooks:
        result = hook()
        if inspect.isawaitable(result):
            await result
    cut = _cut_connections(generation, restore.api_port)
    instance_id = renew()
    if restore.number > 1 and config.redeliver_snapshot_telemetry:
        telemetry.requeue(restore.snapshot.held)
    started = time.monotonic()
    telemetry.emit("platform.restoreStart", records.restore_start(config, instance_id))
    await freezer.thaw()
    hooks = generation.runtime.open_restore_gate()
    status, error_type = await _runtime_restored(generation, platform) if hooks else ("success", None)
    record = RestoreRecord(
        restore.number, status, round((time.monotonic() - started) * 1000, 3), round(gap_s, 3), hooks,
        len(cut.cut), len(cut.kept), error_type, process_records(sandbox, generation.processes()),
    )  # fmt: skip
    telemetry.emit("platform.restoreRuntimeDone", records.restore_runtime_done(record))
    telemetry.emit("platform.restoreReport", records.restore_report(record))
    return record


async def _wait_gap(frozen_at: float | None, gap_s: float) -> float:
    frozen_at = frozen_at if frozen_at is not None else time.monotonic()
    left = gap_s - (time.monotonic() - frozen_at)
    if left > 0:
        await asyncio.sleep(left)  # time passing while frozen is the point, not a synchronisation
    return time.monotonic() - frozen_at


def _cut_connections(generation: Generation, api_port: int) -> CutResult:
    pids = session_members(p.pid for p in generation.processes() if p.alive)
    try:
        result = cut_outward(pids, api_port)
    except OSError as error:
        raise EmulatorError(f"cannot cut the environment's connections at the restore: {error}") from None
    if result.failed:
        connection, reason = result.failed[0]
        raise EmulatorError(
            f"could not cut {connection.local}->{connection.remote} at the restore: {reason} "
            "(SOCK_DESTROY needs root: CAP_NET_ADMIN)"
        )
    return result


async def _runtime_restored(generation: Generation, platform: Platform) -> tuple[str, str | None]:
    """Wait for the runtime's /next after its hooks; (status, errorType) as RIE reports them."""
    runtime = generation.runtime
    mark = runtime.next_calls
    process = generation.runtime_process

    def settled() -> bool:
        crashed = process is None or not process.alive
        return (runtime.next_calls > mark and runtime.waiting) or runtime.restore.error is not None or crashed

    if not await platform.notifier.wait_until(settled, RESTORE_TIMEOUT_S):
        return "error", "Runtime.Unknown"  # RIE: a restore timeout is reported as Runtime.Unknown
    if runtime.restore.error is not None:
        return "error", runtime.restore.error[0]
    if process is None or not process.alive:
        return "error", "Runtime.ExitError"
    return "success", None
