"""What a layer zip holds, read from the zip itself: flavour, the CPU its binaries are for, its CPython.

Publishing a zip under the wrong architecture would install cleanly and then fail at every cold start, so
`publish` checks the ELF headers inside the zip against `--arch` instead of trusting the file name.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from telemetry_tools.errors import ToolError

LAUNCHER: Final = "extensions/telemetry-ext"
NATIVE_BINARY: Final = "telemetry-ext/bin/telemetry-ext"
CARRIED_LOADER: Final = re.compile(r"^telemetry-ext/bin/ld-linux-[a-z0-9_-]+\.so\.\d$")
"""The loader a native layer carries with its C library (build/carried_libc.py); without it, the host's."""
DIRECT_UPLOAD_LIMIT: Final = 50 * 1024 * 1024
"""PublishLayerVersion's largest ZipFile; beyond it the content must come from S3."""
UNZIPPED_LIMIT: Final = 250 * 1024 * 1024
"""Lambda's limit for a function and all its layers, unzipped."""
ELF_MACHINES: Final = {62: "x86_64", 183: "arm64"}
_CPYTHON: Final = re.compile(r"\.cpython-3(\d+)-")


@dataclass(frozen=True, slots=True)
class ZipFacts:
    path: Path
    size: int
    unzipped: int
    sha256: str
    flavour: str
    architectures: frozenset[str]
    """CPUs of the ELF files inside (empty for a pure-Python zip)."""
    python: str | None
    """The CPython version of its extension modules, e.g. '3.11' (interpreted flavour)."""
    carries_libc: bool = False
    """A native layer with its own loader and C library: it needs none from the host (any Lambda runtime)."""


def inspect(path: Path) -> ZipFacts:
    if not path.is_file():
        raise ToolError(f"{path}: no such file (build it: scripts/build.sh --arch ARCH --flavor FLAVOUR)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if LAUNCHER not in names:
                raise ToolError(f"{path}: not a telemetry-ext layer ({LAUNCHER} is missing)")
            unzipped = sum(info.file_size for info in archive.infolist())
            machines = {m for m in (_elf_machine(archive, i) for i in archive.infolist()) if m}
    except zipfile.BadZipFile as error:
        raise ToolError(f"{path}: not a zip file ({error})") from None
    versions = {f"3.{m.group(1)}" for name in names if (m := _CPYTHON.search(name))}
    if len(versions) > 1:
        raise ToolError(f"{path}: extension modules for several CPython versions: {', '.join(sorted(versions))}")
    return ZipFacts(
        path=path,
        size=path.stat().st_size,
        unzipped=unzipped,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        flavour="native" if NATIVE_BINARY in names else "interpreted",
        architectures=frozenset(machines),
        python=versions.pop() if versions else None,
        carries_libc=any(CARRIED_LOADER.match(name) for name in names),
    )


def _elf_machine(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    if info.is_dir() or info.file_size < 20:
        return None
    with archive.open(info) as member:
        header = member.read(20)
    if header[:4] != b"\x7fELF":
        return None
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return ELF_MACHINES.get(machine, f"ELF machine {machine}")


def check_limits(facts: ZipFacts) -> None:
    if facts.size > DIRECT_UPLOAD_LIMIT:
        raise ToolError(f"{facts.path}: {facts.size / 2**20:.1f} MiB is over the 50 MiB direct-upload limit")
    if facts.unzipped > UNZIPPED_LIMIT:
        raise ToolError(f"{facts.path}: {facts.unzipped / 2**20:.1f} MiB unzipped is over Lambda's 250 MiB")
