"""The Telemetry API listener: answers every POST with 200 at once, then decodes it.

A non-2xx answer makes Lambda re-deliver the same batch (lambda-api.md §2.2), so even a body we cannot parse
gets 200 and is counted instead. Bodies over the size cap are read to the end (so the connection stays
usable), discarded and counted. The listener never logs per request: its own output would come back to it as
`extension` telemetry.
"""

from __future__ import annotations

import _socket
import _thread

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.events import UNPARSABLE, DecodedBatch, decode_batch
from telemetry_ext.http.server import OkServer

if TYPE_CHECKING:
    from collections.abc import Callable

    Deliver = Callable[[DecodedBatch], None]
    from typing import Final

    from telemetry_ext.loop import Loop

LOOPBACK: Final = "127.0.0.1"
HOSTS_FILE: Final = "/etc/hosts"
_RESOLVE_TIMEOUT_S: Final = 1.0


def bind_address(host: str, hosts_file: str = HOSTS_FILE) -> str:
    """The IPv4 address `host` stands for, or loopback when it does not resolve (outside Lambda) within a
    second. Never a wildcard: the listener must be reachable only from inside the execution environment.
    Lambda's `sandbox.localdomain` is in /etc/hosts, read first; another name is looked up in a thread, so
    that a resolver without an answer cannot hold init."""
    if host in ("", "0.0.0.0", "::"):
        return LOOPBACK
    if _is_ipv4(host):
        return host
    return _from_hosts_file(host, hosts_file) or _resolve(host) or LOOPBACK


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def _from_hosts_file(host: str, path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if host in fields[1:] and _is_ipv4(fields[0]):
            return fields[0]
    return None


def _resolve(host: str) -> str | None:
    found: list[str] = []
    done = _thread.allocate_lock()
    done.acquire()

    def lookup() -> None:
        try:
            # An ASCII name as bytes: a str goes through the idna codec (unicodedata, stringprep: start-up cost).
            name = host.encode("ascii") if host.isascii() else host
            infos = _socket.getaddrinfo(name, None, _socket.AF_INET)
            found.extend(str(info[4][0]) for info in infos)
        except (OSError, UnicodeError):
            pass
        finally:
            done.release()

    _thread.start_new_thread(lookup, ())
    done.acquire(True, _RESOLVE_TIMEOUT_S)
    return found[0] if found else None


class TelemetryListener:
    def __init__(self, loop: Loop, deliver: Deliver, max_body_bytes: int) -> None:
        self._deliver = deliver
        self._server = OkServer(loop, self._handle, max_body_bytes)
        self.address = ""

    def start(self, host: str, port: int) -> None:
        address = bind_address(host)
        self._server.start(address, port)
        self.address = f"{address}:{port}"

    @property
    def in_flight(self) -> int:
        """Requests under way: their head arrived, their answer is not sent yet."""
        return self._server.in_flight

    def stop_accepting(self) -> None:
        """No new connection; requests under way are read and answered while the loop runs."""
        self._server.stop_accepting()

    def close(self) -> None:
        self._server.close()

    def _handle(self, body: bytes | None) -> None:
        self._deliver(decode_batch(body) if body is not None else UNPARSABLE)
