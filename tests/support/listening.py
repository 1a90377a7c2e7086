"""Where the processes of an execution environment listen: (address, port) of every listening TCP socket they
own, read from /proc (their file descriptors' socket inodes, matched in /proc/<pid>/net/tcp)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from lambda_emulator.sandbox.connections import session_members as environment_pids
from lambda_emulator.sandbox.connections import socket_inodes

__all__ = ["environment_pids", "listening"]
LISTEN = "0A"


def listening(pids: Iterable[int]) -> set[tuple[str, int]]:
    """(IPv4 address, port) of each listening socket these processes hold."""
    pids = set(pids)
    inodes = socket_inodes(pids)
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
