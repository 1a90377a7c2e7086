"""Where the processes of an execution environment listen: (address, port) of every listening TCP socket they
own, read from /proc (their file descriptors' socket inodes, matched in /proc/<pid>/net/tcp)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

LISTEN = "0A"


def environment_pids(leaders: Iterable[int]) -> set[int]:
    """Every live process in the sessions these processes lead (each environment process starts its own)."""
    sessions, members = set(leaders), set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) in sessions:
                    members.add(int(entry.name))
    return members


def listening(pids: Iterable[int]) -> set[tuple[str, int]]:
    """(IPv4 address, port) of each listening socket these processes hold."""
    pids = set(pids)
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(int(target[8:-1]))
    found = set()
    for line in _tcp_table(pids):
        fields = line.split()
        if fields[3] == LISTEN and int(fields[9]) in inodes:
            address, port = fields[1].split(":")
            octets = [str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)]
            found.add((".".join(octets), int(port, 16)))
    return found


def _tcp_table(pids: set[int]) -> list[str]:
    """The IPv4 TCP table of the network namespace the processes share (from the first one still there)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            return Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    return []
