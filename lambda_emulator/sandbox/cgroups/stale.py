"""Group names carry their emulator's pid, so groups a dead emulator left behind can be found and removed.

An emulator removes its groups when the environment closes, and at exit (atexit) whatever is still open; a
killed emulator cannot, so each emulator process, when it creates its first sandbox, removes the empty
`lambda-emulator-*` groups whose owner is gone. A group that still holds processes is left alone (rmdir refuses
it, and its processes may belong to an emulator in another pid namespace). Groups named before the pid was part
of the name (`lambda-emulator-<12 hex>`) count as stale once empty and older than an hour.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from pathlib import Path
from typing import Final

from lambda_emulator.sandbox.cgroups.fs import CgroupError, CgroupFs, remove_tree
from lambda_emulator.sandbox.cgroups.host import Host

PREFIX: Final = "lambda-emulator-"
_OWNED: Final = re.compile(rf"^{PREFIX}(\d+)-[0-9a-f]+$")
_LEGACY: Final = re.compile(rf"^{PREFIX}[0-9a-f]{{12}}$")
LEGACY_AGE_S: Final = 3600.0


def group_name(pid: int | None = None) -> str:
    return f"{PREFIX}{os.getpid() if pid is None else pid}-{uuid.uuid4().hex[:8]}"


def hierarchies(host: Host) -> list[Path]:
    """The directories under which groups are made: each v1 controller's mount and the cgroup2 mount."""
    mounts = [(host.root / c).resolve() for c in sorted(host.v1)]
    if host.v2 is not None:
        mounts.append(host.v2)
    return list(dict.fromkeys(mounts))


def groups_of(host: Host, pid: int) -> list[Path]:
    """Every group the emulator with this pid owns now."""
    return [group for group in _groups(host) if _owner(group.name) == pid]


def remove_stale(host: Host, fs: CgroupFs) -> list[Path]:
    """Remove the empty groups of emulators that are gone; returns what was removed."""
    removed = []
    for group in _groups(host):
        if _is_stale(group):
            with contextlib.suppress(CgroupError, OSError):  # still populated, or another process got there first
                remove_tree(group, fs)
                removed.append(group)
    return removed


def _groups(host: Host) -> list[Path]:
    found = []
    for mount in hierarchies(host):
        with contextlib.suppress(OSError):
            found += [p for p in mount.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]
    return found


def _owner(name: str) -> int | None:
    match = _OWNED.match(name)
    return int(match.group(1)) if match else None


def _is_stale(group: Path) -> bool:
    owner = _owner(group.name)
    if owner is not None:
        return not _alive(owner)
    if _LEGACY.match(group.name):
        with contextlib.suppress(OSError):
            return time.time() - group.stat().st_ctime > LEGACY_AGE_S
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
