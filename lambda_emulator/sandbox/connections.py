"""Cut the TCP connections that a restored SnapStart environment would find dead.

A restore resumes a memory snapshot taken long before, in another microVM: every connection to something
outside the environment (S3, a database, any peer) is gone, while the environment's own loopback connections
(to the Runtime API, which is inside the snapshot too, and between its processes) are intact.

Here the environment's processes share the host's network, so the emulator finds every TCP connection owned
by a process of the environment (`/proc/<pid>/fd` -> socket inodes -> `/proc/<pid>/net/tcp{,6}`) and destroys
the outward ones with the kernel's `SOCK_DESTROY` (sock_diag netlink, CAP_NET_ADMIN, CONFIG_INET_DIAG_DESTROY):
the owner's next read or write fails (ECONNABORTED) and the peer receives a reset. Kept: connections to the
Runtime API's port, connections accepted on a port an environment process listens on (the platform's
telemetry deliveries), and connections whose both ends belong to the environment.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

NETLINK_SOCK_DIAG: Final = 4
SOCK_DESTROY: Final = 21
NLM_F_REQUEST: Final = 0x1
NLM_F_ACK: Final = 0x4
NLMSG_ERROR: Final = 2
TCP_LISTEN: Final = "0A"
TCP_GONE: Final = frozenset({"06", "07"})  # TIME_WAIT, CLOSE: nothing left to cut
NO_COOKIE: Final = 0xFFFFFFFF

Endpoint = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Connection:
    family: int
    local: Endpoint
    remote: Endpoint
    state: str
    inode: int


@dataclass(slots=True)
class CutResult:
    cut: list[Connection]
    kept: list[Connection]
    failed: list[tuple[Connection, str]]


def session_members(leaders: Iterable[int]) -> set[int]:
    """Every live process in the sessions these processes lead (each environment process starts its own)."""
    sessions = set(leaders)
    members = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) in sessions:
                    members.add(int(entry.name))
    return members


def cut_outward(pids: set[int], api_port: int) -> CutResult:
    """Destroy every outward TCP connection of these processes (see the module docstring)."""
    result = CutResult([], [], [])
    inodes = socket_inodes(pids)
    if not inodes:
        return result
    table = _tcp_table(next(iter(pids)))
    ours = [c for c in table if c.inode in inodes]
    listening = {c.local[1] for c in ours if c.state == TCP_LISTEN}
    ends = {c.local for c in ours}
    for connection in ours:
        if connection.state == TCP_LISTEN or connection.state in TCP_GONE:
            continue
        inside = connection.remote[1] == api_port or connection.local[1] in listening or connection.remote in ends
        if inside:
            result.kept.append(connection)
            continue
        error = destroy(connection)
        if error is None:
            result.cut.append(connection)
        else:
            result.failed.append((connection, error))
    return result


def destroy(connection: Connection) -> str | None:
    """SOCK_DESTROY one connection; None on success, else the reason."""
    family = connection.family
    sockid = (
        struct.pack("!HH", connection.local[1], connection.remote[1])
        + _address(family, connection.local[0])
        + _address(family, connection.remote[0])
        + struct.pack("=III", 0, NO_COOKIE, NO_COOKIE)
    )
    request = struct.pack("=BBBxI", family, socket.IPPROTO_TCP, 0, 0xFFFFFFFF) + sockid
    header = struct.pack("=IHHII", 16 + len(request), SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, 1, 0)
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as netlink:
            netlink.send(header + request)
            reply = netlink.recv(4096)
    except OSError as error:
        return f"netlink: {error.strerror or error}"
    _, kind, _, _, _ = struct.unpack_from("=IHHII", reply)
    if kind != NLMSG_ERROR:
        return f"unexpected netlink reply type {kind}"
    (code,) = struct.unpack_from("=i", reply, 16)
    return None if code == 0 else os.strerror(-code)


def socket_inodes(pids: Iterable[int]) -> set[int]:
    """The inodes of every socket these processes hold open."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(int(target[8:-1]))
    return inodes


def _tcp_table(pid: int) -> list[Connection]:
    """The TCP sockets of the network namespace `pid` lives in."""
    if os.stat(f"/proc/{pid}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino:
        raise OSError("the environment runs in another network namespace: its connections cannot be cut from here")
    rows = []
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        with contextlib.suppress(FileNotFoundError):
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
            rows += [_parse_row(line.split(), family) for line in lines]
    return rows


def _parse_row(fields: list[str], family: int) -> Connection:
    return Connection(family, _endpoint(fields[1], family), _endpoint(fields[2], family), fields[3], int(fields[9]))


def _endpoint(text: str, family: int) -> Endpoint:
    address, port = text.split(":")
    raw = bytes.fromhex(address)
    packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # each 32-bit word in host order
    return socket.inet_ntop(family, packed), int(port, 16)


def _address(family: int, text: str) -> bytes:
    return socket.inet_pton(family, text).ljust(16, b"\0")
