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


def _version_tag(name: str) -> tuple[int, ...] | None:
    match = _GLIBC.fullmatch(name.encode())
    return tuple(int(g) for g in match.groups() if g is not None) if match else None


def version_references(path: Path) -> dict[str, set[str]]:
    """The versions a file needs, per library it needs them from (objdump -p's "Version References"): the
    loader checks every one of them when it loads the file, even one no symbol uses any more (`patchelf
    --clear-symbol-version` leaves such entries behind), so the check reads these, not the symbols."""
    # binutils' objdump reads ELF files of any architecture (x86_64 and aarch64 alike)
    dump = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True, check=False).stdout
    needs: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in dump.splitlines():
        if line.startswith("  required from "):
            current = needs.setdefault(line.removeprefix("  required from ").rstrip(":"), set())
        elif current is not None and line.startswith("    ") and line.split():
            current.add(line.split()[-1])
        elif not line.startswith("    "):
            current = None
    return needs


def version_definitions(path: Path) -> set[str]:
    """The versions a library defines (objdump -p's "Version definitions")."""
    dump = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True, check=False).stdout
    section = dump.partition("Version definitions:\n")[2].partition("\n\n")[0]
    return {line.split()[-1] for line in section.splitlines() if line[:1].isdigit()}


def highest_glibc(path: Path) -> tuple[int, ...] | None:
    """The highest GLIBC_x.y version `path` needs, from any library."""
    found = [v for versions in version_references(path).values() for n in versions if (v := _version_tag(n))]
    return max(found) if found else None


def host_needs(folder: Path) -> dict[Path, dict[str, set[str]]]:
    """What each ELF file in `folder` needs from the host: the versions it needs from libraries the folder does
    not hold. Versions needed from a library the folder holds must be defined by that file, or this fails (the
    layer carries a C library that does not match its program)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_elf(p))
    held = {p.name: p for p in files}
    definitions: dict[str, set[str]] = {}
    needs: dict[Path, dict[str, set[str]]] = {}
    mismatched = []
    for path in files:
        for library, versions in version_references(path).items():
            if library not in held:
                needs.setdefault(path, {})[library] = versions
                continue
            defined = definitions.setdefault(library, version_definitions(held[library]))
            mismatched += [f"{path.relative_to(folder)} needs {v} of {library}" for v in sorted(versions - defined)]
    if mismatched:
        raise RuntimeError(f"the layer's own libraries lack versions its files need: {', '.join(mismatched)}")
    return needs


def glibc_bound_check(folder: Path, bound: tuple[int, int]) -> tuple[int, ...] | None:
    """Fail, naming the files, if any ELF file needs from the host a GLIBC version above `bound`; the highest
    version the host must have (None: none, the layer needs no C library from the host)."""
    highest: dict[Path, tuple[int, ...]] = {}
    for path, libraries in host_needs(folder).items():
        found = [v for versions in libraries.values() for n in versions if (v := _version_tag(n))]
        if found:
            highest[path] = max(found)
    over = {p: v for p, v in highest.items() if v > bound}
    if over:
        listing = ", ".join(f"{p.relative_to(folder)} needs {'.'.join(map(str, v))}" for p, v in over.items())
        raise RuntimeError(f"GLIBC bound {'.'.join(map(str, bound))} exceeded: {listing}")
    return max(highest.values()) if highest else None
