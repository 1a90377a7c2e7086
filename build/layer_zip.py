"""A layer folder to a reproducible zip, and the GLIBC bound check over every ELF file in it."""

from __future__ import annotations

import hashlib
import re
import stat
import subprocess
import zipfile
from pathlib import Path
from typing import Any

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's epoch: same bytes for the same files, whenever built
_GLIBC = re.compile(rb"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?")


def write_reproducible_zip(folder: Path, target: Path) -> dict[str, Any]:
    """Entries sorted, fixed timestamps, modes 0755 (executables) or 0644. Returns sizes and sha256."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    unzipped = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            data = path.read_bytes()
            unzipped += len(data)
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=FIXED_TIME)
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            info.create_system = 3  # unix, so the modes are honoured when unpacked
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    return {
        "zip": target.name,
        "zip_bytes": target.stat().st_size,
        "unzipped_bytes": unzipped,
        "files": len(files),
        "sha256": digest,
    }


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def highest_glibc(path: Path) -> tuple[int, ...] | None:
    """The highest GLIBC_x.y version a file needs, or None: from its dynamic symbols (-T) and from its version
    references (-p). The loader checks every version reference, even one no symbol uses any more, so a
    symbol-only check can pass a library that will not load."""
    # binutils' objdump reads ELF files of any architecture (x86_64 and aarch64 alike)
    dump = b"".join(
        subprocess.run(["objdump", flag, str(path)], capture_output=True, check=False).stdout for flag in ("-T", "-p")
    )
    versions = [tuple(int(g) for g in m.groups() if g is not None) for m in _GLIBC.finditer(dump)]
    return max(versions) if versions else None


def glibc_bound_check(folder: Path, bound: tuple[int, int]) -> tuple[int, ...] | None:
    """Fail, naming the files, if any ELF file needs a GLIBC version above `bound`."""
    needs = {p: highest_glibc(p) for p in sorted(folder.rglob("*")) if p.is_file() and is_elf(p)}
    over = {p: v for p, v in needs.items() if v is not None and v > bound}
    if over:
        listing = ", ".join(f"{p.relative_to(folder)} needs {'.'.join(map(str, v))}" for p, v in over.items())
        raise RuntimeError(f"GLIBC bound {'.'.join(map(str, bound))} exceeded: {listing}")
    found = [v for v in needs.values() if v is not None]
    return max(found) if found else None
