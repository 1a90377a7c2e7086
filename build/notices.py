"""Licence notices for the system libraries the native layer ships: each file's Debian package, read from the
build root's dpkg database (no dpkg needed: the arm64 root's is read from outside), its copyright file, and a
NOTICE naming the package, its version and its source package, so the exact source can be had
(`apt-get source glibc=<version>`): what the LGPL asks of whoever passes glibc's binaries on.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from carried_libc import Carried, resolve_in_root


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    version: str
    source: str
    """The source package and its version, e.g. 'glibc 2.36-9+deb12u14'."""


def _variants(inside: str) -> set[str]:
    """The names dpkg may list a file under on a merged-/usr root (/lib/... or /usr/lib/...)."""
    path = str(PurePosixPath(inside))
    plain = path.removeprefix("/usr") if path.startswith("/usr/") else path
    return {plain, "/usr" + plain}


def owners(root: Path) -> dict[str, str]:
    """Every path dpkg lists in `root`, to its package's name (the architecture suffix dropped)."""
    owned: dict[str, str] = {}
    for listing in sorted((root / "var" / "lib" / "dpkg" / "info").glob("*.list")):
        package = listing.stem.split(":", 1)[0]
        for line in listing.read_text(errors="replace").splitlines():
            owned.setdefault(line.strip(), package)
    return owned


def installed(root: Path) -> dict[str, Package]:
    """The installed packages of `root` (dpkg's status file), by name."""
    packages: dict[str, Package] = {}
    status = (root / "var" / "lib" / "dpkg" / "status").read_text(errors="replace")
    for paragraph in status.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in paragraph.splitlines() if ": " in line and line[0] != " ")
        if "Package" not in fields or "installed" not in fields.get("Status", ""):
            continue
        version = fields.get("Version", "")
        source, _, source_version = fields.get("Source", fields["Package"]).partition(" (")
        packages[fields["Package"]] = Package(fields["Package"], version, f"{source} {source_version[:-1] or version}")
    return packages


def owner_of(carried: Carried, root: Path, owned: dict[str, str]) -> str | None:
    real = "/" + str(resolve_in_root(root, carried.inside).relative_to(root))
    for candidate in (carried.inside, real):
        for name in _variants(candidate):
            if name in owned:
                return owned[name]
    return None


def write_notices(files: list[Carried], root: Path, folder: Path, origin: str) -> list[Package]:
    """licenses/<package>.copyright for each package the files come from, and licenses/NOTICE listing them."""
    owned, packages = owners(root), installed(root)
    by_package: dict[str, list[str]] = {}
    for carried in files:
        owner = owner_of(carried, root, owned)
        if owner is None:
            raise RuntimeError(f"{carried.inside} in {root} belongs to no installed package: its licence is unknown")
        by_package.setdefault(owner, []).append(carried.name)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"telemetry-ext/bin/ holds these files from {origin}, unchanged but for a RUNPATH Nuitka may set.",
        "Their licences are in the copyright file of each package beside this one; the source of each is",
        "Debian's source package named here, at the version named (apt-get source NAME=VERSION).",
        "",
    ]
    for name in sorted(by_package):
        package = packages[name]
        copyright_file = resolve_in_root(root, f"/usr/share/doc/{name}/copyright")
        if not copyright_file.is_file():
            raise RuntimeError(f"{root}: no copyright file for {name} (/usr/share/doc/{name}/copyright)")
        shutil.copyfile(copyright_file, folder / f"{name}.copyright")
        lines.append(f"{', '.join(sorted(by_package[name]))}: {name} {package.version}, source {package.source}")
    (folder / "NOTICE").write_text("\n".join(lines) + "\n")
    return [packages[name] for name in sorted(by_package)]
