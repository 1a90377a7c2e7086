"""The native layer brings its own C library, so it runs whatever the host's is (Amazon Linux 2's glibc 2.26,
AL2023's 2.34, none at all).

Into the program's folder (`telemetry-ext/bin/`) go the build root's dynamic loader (the program's PT_INTERP,
under its own name) and every library that a file there needs and that the folder lacks: libc.so.6, libm.so.6,
libz.so.1, ... all from the root the program was linked in, so they match it. The launcher runs the program
through that loader (`layer/extensions/telemetry-ext`). The loader sits beside the program on purpose: Nuitka
finds its own folder from /proc/self/exe, which names the loader when the loader is what was executed.

Each carried file's Debian package is read from the root's dpkg database, and its copyright file and version
go to `telemetry-ext/licenses/` with a NOTICE (glibc is LGPL: the notice says which source package and version
it is, so the exact source can be had).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from elf import is_elf, read_dynamic

PROGRAM = "telemetry-ext"
LICENSES = "licenses"


@dataclass(frozen=True, slots=True)
class Carried:
    name: str
    """The file's name in the layer's bin/ (the soname, or the loader's name)."""
    inside: str
    """Where it was found in the root, as the root sees it (e.g. /lib/x86_64-linux-gnu/libc.so.6)."""


class CarryError(Exception):
    """A library the program needs was not found in the root it was built in."""


def library_dirs(multiarch: str) -> list[str]:
    """Where Debian's loader looks for libraries by default, in its order (as the root sees it)."""
    return [f"/lib/{multiarch}", f"/usr/lib/{multiarch}", "/lib", "/usr/lib", "/lib64"]


def resolve_in_root(root: Path, inside: str) -> Path:
    """`inside` as the root sees it, every symbolic link followed within the root (an absolute link target is
    the root's, not this machine's: the arm64 root's /lib64/ld-linux... is no path here)."""
    parts = list(PurePosixPath(inside).parts[1:])
    current = root
    hops = 0
    while parts:
        part = parts.pop(0)
        candidate = current / part
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                raise CarryError(f"{inside}: too many symbolic links in {root}")
            target = PurePosixPath(str(candidate.readlink()))
            parts = list(target.parts[1:] if target.is_absolute() else target.parts) + parts
            current = root if target.is_absolute() else current
            continue
        current = current / part if part != ".." else current.parent
    return current


def find_library(root: Path, multiarch: str, name: str) -> str | None:
    """The path, as the root sees it, where its loader would find `name`; None if nowhere."""
    for folder in library_dirs(multiarch):
        inside = f"{folder}/{name}"
        if resolve_in_root(root, inside).is_file():
            return inside
    return None


def carry_c_library(bin_dir: Path, root: Path, multiarch: str) -> list[Carried]:
    """Copy the loader and every library the folder's ELF files need and lack from `root` into `bin_dir`."""
    program = read_dynamic(bin_dir / PROGRAM)
    if program.interpreter is None:
        raise CarryError(f"{bin_dir / PROGRAM} has no program interpreter (a static program needs no carried libc)")
    carried = [_copy(root, program.interpreter, bin_dir / PurePosixPath(program.interpreter).name)]
    present = {p.name for p in bin_dir.rglob("*") if p.is_file()}
    pending = sorted(p for p in bin_dir.rglob("*") if p.is_file() and is_elf(p))
    while pending:
        for name in read_dynamic(pending.pop(0)).needed:
            if name in present:
                continue
            inside = find_library(root, multiarch, name)
            if inside is None:
                raise CarryError(f"{name} (needed in {bin_dir}) is not in {root}'s library folders")
            carried.append(_copy(root, inside, bin_dir / name))
            present.add(name)
            pending.append(bin_dir / name)
    return carried


def _copy(root: Path, inside: str, target: Path) -> Carried:
    source = resolve_in_root(root, inside)
    if not source.is_file():
        raise CarryError(f"{inside} (needed by {target.parent}) is not in {root}")
    shutil.copy2(source, target)
    target.chmod(0o755)
    return Carried(target.name, inside)


def libraries_from_root(bin_dir: Path, root: Path, multiarch: str) -> list[Carried]:
    """Every ELF file in `bin_dir` that is a library of the root by name (those Nuitka copied, such as
    libssl.so.3, and those carried): the files whose licences the layer must state."""
    found = []
    for path in sorted(p for p in bin_dir.iterdir() if p.is_file() and is_elf(p) and ".so" in p.name):
        inside = find_library(root, multiarch, path.name)
        if inside is not None:
            found.append(Carried(path.name, inside))
    return found
