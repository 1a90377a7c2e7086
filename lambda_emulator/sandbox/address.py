"""The execution environment's own address: what `sandbox.localdomain` and `sandbox` resolve to inside it.

Every address in 127.0.0.0/8 reaches the host's loopback interface on Linux with no configuration, so each
environment gets one of its own (127.a.b.c, never 127.0.x.x, where hosts files put the host's own names). The
environment's processes still share the host's network: they reach the Runtime API at 127.0.0.1 and any server a
test runs on loopback, while their listeners, bound to the sandbox address, cannot collide with another
environment's (every extension of a kind listens on the same port).

An address is claimed by binding its port 9001, the Runtime API's port that Lambda reserves (no extension may
listen there), and holding that socket while the environment lives: two emulators, in one process or several,
never get the same address, and nothing is left behind when the process ends.
"""

from __future__ import annotations

import errno
import random
import socket
from dataclasses import dataclass
from typing import Final

RESERVED_PORT: Final = 9001
ATTEMPTS: Final = 64


class AddressUnavailable(OSError):
    """No loopback address could be claimed (the message says why)."""


@dataclass(slots=True)
class SandboxAddress:
    address: str
    _claim: socket.socket | None

    def release(self) -> None:
        if self._claim is not None:
            self._claim.close()
            self._claim = None


def claim_sandbox_address(rng: random.Random | None = None) -> SandboxAddress:
    """A loopback address no other live environment holds."""
    draw = rng or random.SystemRandom()
    last: OSError | None = None
    for _ in range(ATTEMPTS):
        address = f"127.{draw.randint(1, 254)}.{draw.randint(0, 255)}.{draw.randint(1, 254)}"
        claim = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            claim.bind((address, RESERVED_PORT))
        except OSError as error:
            claim.close()
            last = error
            if error.errno == errno.EADDRINUSE:
                continue
            break
        return SandboxAddress(address, claim)
    raise AddressUnavailable(f"no loopback address could be claimed for the environment: {last}")


def loopback() -> SandboxAddress:
    """The shared loopback address, claimed by nobody (the fallback without a namespace)."""
    return SandboxAddress("127.0.0.1", None)
