"""SnapStart: the snapshot after init, and restores of it (lambda-api.md §3.8; RIE `rapid/handlers.go`
`handleRestore`; SnapStart docs).

A real snapshot of the processes is impossible here (CRIU fails on this kernel), so every restore thaws the
*same* processes, after making them see what a restored copy sees (README, "SnapStart"):

1. the wall-clock gap: the environment stays frozen `restore_gap_s` since the snapshot (or the last restore);
2. the restore hooks of the test run (still frozen), then every outward TCP connection of every process of the
   environment is destroyed (`connections.py`); loopback connections to the Runtime API survive, as they are
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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lambda_emulator import records
from lambda_emulator.connections import CutResult, cut_outward, session_members
from lambda_emulator.errors import EmulatorError
from lambda_emulator.measurements import RestoreRecord
from lambda_emulator.modes import RESTORE_TIMEOUT_S
from lambda_emulator.telemetry import Subscriber

if TYPE_CHECKING:
    from lambda_emulator.environment import Emulator


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: float
    """Wall-clock time of the snapshot."""
    held: list[tuple[Subscriber, list[bytes]]]
    """Telemetry the platform had not delivered when the snapshot was taken."""


async def take_snapshot(emulator: Emulator) -> None:
    await emulator.freeze()
    emulator.snapshot = Snapshot(time.time(), emulator.telemetry.held())


async def restore_snapshot(emulator: Emulator) -> RestoreRecord:
    snapshot = _restorable(emulator)
    number = len(emulator.restores) + 1
    gap_s = await _wait_gap(emulator)
    for hook in emulator.restore_hooks:
        result = hook()
        if inspect.isawaitable(result):
            await result
    cut = _cut_connections(emulator)
    if emulator.credentials is not None:
        emulator.credentials.issue()
        emulator.credentials.phase = "restore"
    emulator.new_instance_id()
    if number > 1 and emulator.config.redeliver_snapshot_telemetry:
        emulator.telemetry.requeue(snapshot.held)
    started = time.monotonic()
    emulator.telemetry.emit("platform.restoreStart", records.restore_start(emulator))
    await emulator.thaw()
    hooks = emulator.runtime.open_restore_gate()
    status, error_type = await _runtime_restored(emulator) if hooks else ("success", None)
    record = RestoreRecord(
        number, status, round((time.monotonic() - started) * 1000, 3), round(gap_s, 3), hooks,
        len(cut.cut), len(cut.kept), error_type, emulator.process_figures(),
    )  # fmt: skip
    emulator.telemetry.emit("platform.restoreRuntimeDone", records.restore_runtime_done(record))
    emulator.telemetry.emit("platform.restoreReport", records.restore_report(record))
    if status == "success":
        await emulator.freeze()
    else:
        await emulator.stop_environment("failure")
    return record


def _restorable(emulator: Emulator) -> Snapshot:
    if not emulator.rules.restores:
        raise EmulatorError(f"restore() is for snapstart mode, not {emulator.rules.mode}")
    if emulator.snapshot is None:
        raise EmulatorError("restore() needs start() first: init, then the snapshot")
    if emulator.stopped:
        raise EmulatorError("the environment was stopped; its processes cannot be restored again here")
    return emulator.snapshot


async def _wait_gap(emulator: Emulator) -> float:
    frozen_at = emulator.frozen_at if emulator.frozen_at is not None else time.monotonic()
    left = emulator.config.restore_gap_s - (time.monotonic() - frozen_at)
    if left > 0:
        await asyncio.sleep(left)  # time passing while frozen is the point, not a synchronisation
    return time.monotonic() - frozen_at


def _cut_connections(emulator: Emulator) -> CutResult:
    pids = session_members(p.pid for p in emulator.all_processes() if p.alive)
    try:
        result = cut_outward(pids, emulator.api_port)
    except OSError as error:
        raise EmulatorError(f"cannot cut the environment's connections at the restore: {error}") from None
    if result.failed:
        connection, reason = result.failed[0]
        raise EmulatorError(
            f"could not cut {connection.local}->{connection.remote} at the restore: {reason} "
            "(SOCK_DESTROY needs root: CAP_NET_ADMIN)"
        )
    return result


async def _runtime_restored(emulator: Emulator) -> tuple[str, str | None]:
    """Wait for the runtime's /next after its hooks; (status, errorType) as RIE reports them."""
    runtime = emulator.runtime
    mark = runtime.next_calls
    process = emulator.runtime_process

    def settled() -> bool:
        crashed = process is None or not process.alive
        return (runtime.next_calls > mark and runtime.waiting) or runtime.restore.error is not None or crashed

    if not await emulator.notifier.wait_until(settled, RESTORE_TIMEOUT_S):
        return "error", "Runtime.Unknown"  # RIE: a restore timeout is reported as Runtime.Unknown
    if runtime.restore.error is not None:
        return "error", runtime.restore.error[0]
    if process is None or not process.alive:
        return "error", "Runtime.ExitError"
    return "success", None
