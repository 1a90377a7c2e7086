"""The execution environment's file system and names, as Lambda gives them to every process in it.

With root (`use_namespaces` None or True), one private mount namespace per environment
(`namespace.py`), which every process of the environment shares:

- `/opt`: the layers merged in order (`layer.py`), read-only;
- `/var/task`: the function's code (the handler's folder), read-only; empty for the simulated runtime;
- `/tmp`: a folder of the environment's own, writable, kept across resets (as Lambda keeps /tmp), with the
  configured shared paths visible at their own place, and so are the runtime's interpreter installation, the
  emulator's own Python environment and package when they live under the host's /tmp (a checkout in
  `mktemp -d`): the runtimes run with the host's Python, as Lambda's run with /var/lang (`host_python_paths`);
- `/etc/hosts`: the host's, plus `sandbox.localdomain` and `sandbox` for the environment's own loopback
  address (`sandbox_address.py`), where the platform delivers telemetry.

Without root (or with `use_namespaces` False) the emulator runs as it did before: the layers in a temporary
folder given by its host path, the code at its own path, the host's /tmp, names unresolved (an extension that
binds `sandbox.localdomain` cannot start) and telemetry delivered to 127.0.0.1. The README's fidelity table
says what that loses. With `use_namespaces=None` that fallback is said once, in one warning line.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from lambda_emulator.sandbox.address import SandboxAddress, claim_sandbox_address, loopback
from lambda_emulator.sandbox.layers import merge_layers
from lambda_emulator.sandbox.namespace import Bind, MountNamespace, MountPlan, NamespaceUnavailable

LOG: Final = logging.getLogger("lambda_emulator")
SANDBOX_NAMES: Final = ("sandbox.localdomain", "sandbox")
ROOT_PREFIX: Final = "lambda-emulator-env-"
LOCK: Final = ".lock"
_WARNED: Final[set[str]] = set()
OPEN_ROOTS: Final[set[Path]] = set()
"""The folders of this process's environments that are not closed yet."""


@dataclass(frozen=True, slots=True)
class Paths:
    """Where the environment's processes find things."""

    opt: str
    task: str


class Isolation:
    """One environment's file system and address; `close()` removes every trace of it."""

    def __init__(
        self, root: Path, lock: int, address: SandboxAddress, namespace: MountNamespace | None, note: str
    ) -> None:
        self.root = root
        self._lock = lock
        self.host_opt = root / "opt"
        self.sockets = root / "sockets"
        """Where the platform's sockets for the environment's processes live, at the same path inside and out."""
        """The merged layers on the host (where the emulator lists /opt/extensions)."""
        self._address = address
        self.namespace = namespace
        self.note = note
        """Why there is no namespace ("" when there is one)."""

    @property
    def address(self) -> str:
        """What sandbox.localdomain resolves to inside; telemetry is delivered there."""
        return self._address.address

    def paths(self, code_dir: Path | None) -> Paths:
        if self.namespace is not None:
            return Paths("/opt", "/var/task")
        return Paths(str(self.host_opt), str(code_dir or self.root / "task"))

    def spawn(self, cwd: str, before: Callable[[], None] | None) -> tuple[Callable[[], Any] | None, str | None]:
        """(preexec_fn, cwd) for a process of the environment: it joins its cgroups, then the namespace."""
        if self.namespace is None:
            return before, cwd
        return self.namespace.entering(cwd, before), None

    def describe(self) -> dict[str, Any]:
        """What the records say about the environment's file system and names."""
        if self.namespace is None:
            return {"namespace": False, "sandbox_address": None, "opt": str(self.host_opt), "note": self.note}
        return {"namespace": True, "sandbox_address": self.address, "opt": "/opt", "note": ""}

    async def close(self) -> None:
        if self.namespace is not None:
            await self.namespace.close()
            self.namespace = None
        self._address.release()
        shutil.rmtree(self.root, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.close(self._lock)
        OPEN_ROOTS.discard(self.root)


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the environment is made of: its layers, its code, the runtime it starts, what it shares with the host."""

    layers: Sequence[Path]
    code_dir: Path | None
    """The function's code, mounted at /var/task (None: an empty /var/task)."""
    runtime_executable: str
    """The runtime's interpreter: its installation is made visible even under the private /tmp."""
    shared_paths: Sequence[Path] = ()
    use_namespaces: bool | None = None
    """None: a namespace where the host allows it; True: required (else NamespaceUnavailable); False: none."""


async def open_isolation(wanted: Wanted) -> Isolation:
    """Merge the layers, then make the namespace (or fall back, or raise NamespaceUnavailable if required)."""
    remove_stale_roots()
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
    lock = _locked(root)
    try:
        for folder in ("opt", "task", "tmp", "staging", "sockets"):
            (root / folder).mkdir()
        (root / "tmp").chmod(0o1777)
        merge_layers(wanted.layers, root / "opt")
        if wanted.use_namespaces is False:
            return Isolation(root, lock, loopback(), None, "namespaces off")
        return await _namespaced(wanted, root, lock)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        os.close(lock)
        OPEN_ROOTS.discard(root)
        raise


def _locked(root: Path) -> int:
    """The environment's lock, held while it lives (the kernel drops it if the emulator dies); it gets its name
    only once locked, so a cleaner never sees it free while the environment is being made."""
    making = root / f"{LOCK}.new"
    lock = os.open(making, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    making.rename(root / LOCK)
    OPEN_ROOTS.add(root)
    return lock


def remove_stale_roots(folder: Path | None = None) -> list[Path]:
    """Remove the folders of environments whose emulator died without closing them (their lock is free)."""
    removed = []
    for root in sorted((folder or Path(tempfile.gettempdir())).glob(f"{ROOT_PREFIX}*")):
        with contextlib.suppress(OSError):
            descriptor = os.open(root / LOCK, os.O_RDWR | os.O_CLOEXEC)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # alive
            finally:
                os.close(descriptor)
            shutil.rmtree(root, ignore_errors=True)
            removed.append(root)
    return removed


async def _namespaced(wanted: Wanted, root: Path, lock: int) -> Isolation:
    address = claim_sandbox_address()
    hosts = root / "hosts"
    hosts.write_text(hosts_file(Path("/etc/hosts"), address.address))
    code = wanted.code_dir or root / "task"
    binds = (Bind(root / "opt", "/opt"), Bind(code, "/var/task"), Bind(hosts, "/etc/hosts"))
    shared = (*wanted.shared_paths, root / "sockets", *host_python_paths(wanted.runtime_executable))
    plan = MountPlan(binds, root / "tmp", root / "staging", shared)
    try:
        namespace = await MountNamespace.start(plan)
    except NamespaceUnavailable as unavailable:
        address.release()
        if wanted.use_namespaces:
            raise
        _warn_once(f"lambda_emulator: NO NAMESPACE ({unavailable}): layers in a temporary folder, not /opt; "
                   "sandbox.localdomain does not resolve; telemetry delivered to 127.0.0.1")  # fmt: skip
        return Isolation(root, lock, loopback(), None, str(unavailable))
    return Isolation(root, lock, address, namespace, "")


def host_python_paths(runtime_executable: str) -> tuple[Path, ...]:
    """What the environment's processes run with from the host, to be seen even under the private /tmp: the
    runtime's interpreter installation (bin/..: a venv or a Python), this Python environment (awslambdaric, the
    interpreted extension's python) and the emulator's package (the simulated runtime)."""
    runtime_prefix = Path(runtime_executable).parent.parent
    return runtime_prefix, Path(sys.prefix), Path(__file__).resolve().parents[1]


def hosts_file(host_hosts: Path, address: str) -> str:
    """The sandbox's names first, then the host's hosts file (every other name the host resolves still
    resolves) without any mapping of its own for the sandbox's names."""
    lines = [f"{address}\t{' '.join(SANDBOX_NAMES)}\t# lambda_emulator: this execution environment"]
    with contextlib.suppress(OSError):
        for line in host_hosts.read_text().splitlines():
            entry, _, comment = line.partition("#")
            fields = entry.split()
            names = [name for name in fields[1:] if name not in SANDBOX_NAMES]
            if len(fields) > 1 and not names:
                continue
            lines.append(" ".join([fields[0], *names]) + (f" #{comment}" if comment else "") if fields else line)
    return "\n".join(lines) + "\n"


def _warn_once(line: str) -> None:
    if line not in _WARNED:
        _WARNED.add(line)
        LOG.warning(line)
