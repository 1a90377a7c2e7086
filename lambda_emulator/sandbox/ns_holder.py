"""Holds one execution environment's private mount namespace. Stdlib only: `namespace.py` runs it as root,

    python -I ns_holder.py PLAN_JSON

PLAN_JSON: {"binds": [{"source", "target", "readonly"}, ...], "tmp": FOLDER, "shared": [PATH, ...],
"staging": FOLDER}. It leaves the host's mount namespace (unshare), makes every mount in its copy private (so
nothing it mounts propagates back to the host), then:

- binds each source over its target (read-only when asked): the merged layers on /opt, the function's code on
  /var/task, the environment's hosts file on /etc/hosts. A target the host lacks (/var/task) is made without
  touching the host: its parent is covered by a small tmpfs holding the parent's entries again (bind mounts of
  the originals, reached through a bind of the parent made first in `staging`, and copies of its symbolic
  links), plus the new target;
- binds each shared path into the private /tmp folder at the same place, then that folder over /tmp.

It prints "ready" and holds the namespace until its stdin closes (when the emulator ends, or dies). On any
failure it prints "error: <why>" on one line and exits 1; the emulator decides whether to go without.
"""

import ctypes
import json
import os
import stat
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
LIBC.unshare.argtypes = [ctypes.c_int]


class HolderError(Exception):
    """A mount or unshare the kernel refused; the message names it and says why."""


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if LIBC.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)) != 0:
        raise HolderError(f"mount {source or fstype or ''} on {target}: {os.strerror(ctypes.get_errno())}")


def bind(source: str, target: str, readonly: bool = False) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    if readonly:
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


class Room:
    """Makes mount points the host lacks, in folders covered by a tmpfs of our own."""

    def __init__(self, staging: str) -> None:
        self.staging = staging
        self.owned: set[str] = set()
        self.covered = 0

    def ensure(self, target: str, is_dir: bool) -> None:
        if os.path.lexists(target):
            return
        parent = os.path.dirname(target)
        if parent not in self.owned:
            if os.path.lexists(parent):
                self.cover(parent)
            else:
                self.ensure(parent, True)
        _create(target, is_dir)
        if is_dir:
            self.owned.add(target)

    def cover(self, folder: str) -> None:
        """Replace `folder` by a tmpfs holding the same entries, so new entries can be made in it."""
        if folder == "/":
            raise HolderError("a mount point is missing at the root of the host's file system (/opt?)")
        self.covered += 1
        original = os.path.join(self.staging, str(self.covered))
        os.makedirs(original)
        bind(folder, original)
        info = os.stat(folder)
        mount("tmpfs", folder, "tmpfs", 0, f"mode={stat.S_IMODE(info.st_mode):o},size=1m")
        os.chown(folder, info.st_uid, info.st_gid)
        for entry in os.scandir(original):
            place = os.path.join(folder, entry.name)
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), place)
                continue
            _create(place, entry.is_dir(follow_symlinks=False))
            bind(entry.path, place)
        self.owned.add(folder)


def _create(path: str, is_dir: bool) -> None:
    if is_dir:
        os.mkdir(path)
    else:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def private_tmp(folder: str, shared: list[str]) -> None:
    """`folder` over /tmp, with every shared path under /tmp bound into it at the same place first."""
    for path in sorted(shared, key=len):
        relative = os.path.relpath(path, "/tmp")
        if relative.startswith(".."):
            continue  # outside /tmp: the environment sees it already
        place = os.path.join(folder, relative)
        is_dir = os.path.isdir(path)
        os.makedirs(place if is_dir else os.path.dirname(place), exist_ok=True)
        if not is_dir and not os.path.lexists(place):
            _create(place, False)
        bind(path, place)
    bind(folder, "/tmp")


def set_up(plan: dict[str, Any]) -> None:
    if LIBC.unshare(CLONE_NEWNS) != 0:
        raise HolderError(f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}")
    try:
        mount(None, "/", None, MS_REC | MS_PRIVATE)
    except HolderError as error:  # EINVAL: '/' is not a mount point, as in a chroot of a plain folder
        raise HolderError(f"{error} ('/' must be a mount point: bind a chroot's root onto itself first)") from None
    room = Room(plan["staging"])
    for item in plan["binds"]:
        room.ensure(item["target"], os.path.isdir(item["source"]))
        bind(item["source"], item["target"], item["readonly"])
    private_tmp(plan["tmp"], plan["shared"])


def say(line: str) -> None:
    sys.stdout.write(" ".join(line.split()) + "\n")
    sys.stdout.flush()


def main() -> int:
    try:
        set_up(json.loads(sys.argv[1]))
    except (HolderError, OSError, KeyError, ValueError, IndexError) as error:
        say(f"error: {error}")
        return 1
    say("ready")
    sys.stdin.buffer.read()  # hold the namespace until the emulator closes our stdin (or dies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
