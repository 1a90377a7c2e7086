"""How the build talks and runs tools: one progress line per phase on stdout, every tool's own output (apt, pip,
Nuitka, gcc, debootstrap) in a log file, and errors that are final and say why (BuildError, no traceback)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

STARTED = time.monotonic()
REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("TELEMETRY_EXT_CACHE", Path.home() / ".cache" / "telemetry-ext"))
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}  # our name -> the kernel's and Debian's multiarch name
RUNTIME_REQUIREMENTS = REPO / "build" / "requirements-runtime.txt"
# Debian package of each tool the build may run (installed when missing, on every path that needs it)
TOOL_PACKAGES = {
    "gcc": "gcc",
    "objdump": "binutils",
    "strip": "binutils",
    "patchelf": "patchelf",
    "ccache": "ccache",
    "debootstrap": "debootstrap",
    "qemu-aarch64-static": "qemu-user-static",
    "update-binfmts": "binfmt-support",
}
LOG_TAIL_LINES = 15


class BuildError(Exception):
    """A clear, final error: printed without a traceback."""


class BuildLog:
    """The log file that receives the output of every tool the build runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"build log, started {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}\n")

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        text = self.path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"  | {line}" for line in text)


_log: BuildLog | None = None


def open_log(path: Path) -> BuildLog:
    global _log
    _log = BuildLog(path)
    return _log


def phase(message: str) -> None:
    print(f"[build {time.monotonic() - STARTED:6.1f} s] {message}", flush=True)


def run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    """Run a tool with its output in the build log; a failure is a BuildError naming the tool and the log."""
    shown = " ".join(map(str, command))
    if _log is None:
        raise BuildError(f"internal: no build log open to run {shown}")
    with _log.path.open("a") as handle:
        handle.write(f"\n$ {shown}\n")
        handle.flush()
        try:
            result = subprocess.run(
                [str(c) for c in command], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=handle, stderr=handle
            )
        except OSError as error:
            raise BuildError(f"cannot run {command[0]}: {error.strerror}") from None
    if result.returncode != 0:
        name = Path(str(command[0])).name
        raise BuildError(f"{name} failed (exit {result.returncode}); the end of {_log.path}:\n{_log.tail()}")


def apt_install(*packages: str) -> None:
    """Debian's packages, non-interactively and quietly (output in the log). Needs root and apt-get."""
    if shutil.which("apt-get") is None:
        raise BuildError(f"no apt-get here: install {', '.join(packages)} yourself (Debian-based machine expected)")
    if os.geteuid() != 0:
        raise BuildError(f"installing {', '.join(packages)} from Debian's packages needs root (or install them first)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-q", "-o", "Dpkg::Use-Pty=0", env=env)
    run("apt-get", "install", "-y", "-q", "-o", "Dpkg::Use-Pty=0", *packages, env=env)


def require_tools(*tools: str) -> None:
    """Every tool a path of the build runs is checked here first, and installed from Debian's packages when
    missing (a fresh machine starts with none of them)."""
    missing = sorted({TOOL_PACKAGES[t] for t in tools if shutil.which(t) is None})
    if missing:
        phase(f"installing {', '.join(missing)} from Debian's packages")
        apt_install(*missing)
    still = [t for t in tools if shutil.which(t) is None]
    if still:
        raise BuildError(f"missing tool(s) after installing their packages: {', '.join(still)}")
