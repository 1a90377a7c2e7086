"""Every ELF file of the built native layers, both architectures: what each needs from the host's C library.

The native layer must run on every Lambda runtime, Amazon Linux 2 (glibc 2.26) included: every ELF file needs
nothing newer than GLIBC_2.26 from the host, and here nothing at all. It carries its loader and C library
(build/carried_libc.py): every library any file needs is in the layer, every version it needs from one is
defined there, and the launcher starts the program through the carried loader.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from carried_libc import PROGRAM
from elf import is_elf, read_dynamic
from layer_zip import glibc_bound_check, host_needs, version_references

from lambda_emulator.sandbox.layers import unpack_layer
from tests.support.layers import ARM64_ROOT, built_layer

AMAZON_LINUX_2 = (2, 26)
ARCHES = ["x86_64"] + (["arm64"] if ARM64_ROOT else [])  # arm64: scripts/test.sh sets TELEMETRY_EXT_ARM64_ROOT
MACHINES = {"x86_64": 62, "arm64": 183}
LOADERS = {"x86_64": "ld-linux-x86-64.so.2", "arm64": "ld-linux-aarch64.so.1"}


@pytest.fixture(params=ARCHES)
def layer(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    arch: str = request.param
    unpack_layer(built_layer(f"native-{arch}")(tmp_path), tmp_path / "layer")
    return arch, tmp_path / "layer"


def elf_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_elf(p))


def test_every_elf_file_needs_no_glibc_newer_than_amazon_linux_2s_from_the_host(layer: tuple[str, Path]) -> None:
    arch, folder = layer
    files = elf_files(folder)
    # every file is for the layer's CPU
    assert {f.relative_to(folder).as_posix(): f.read_bytes()[18] for f in files} == {
        f.relative_to(folder).as_posix(): MACHINES[arch] for f in files
    }
    # the files do need GLIBC versions (many newer than 2.26), all from the layer's own libraries
    needed = {name for f in files for versions in version_references(f).values() for name in versions}
    assert "GLIBC_2.34" in needed
    assert host_needs(folder) == {}
    assert glibc_bound_check(folder, AMAZON_LINUX_2) is None


def test_every_library_any_file_needs_is_in_the_layer(layer: tuple[str, Path]) -> None:
    arch, folder = layer
    files = elf_files(folder)
    held = {p.name for p in files}
    missing = [f"{f.relative_to(folder)} needs {n}" for f in files for n in read_dynamic(f).needed if n not in held]
    assert missing == []
    assert {"libc.so.6", LOADERS[arch]} <= held


def test_the_launcher_runs_the_program_through_the_carried_loader(layer: tuple[str, Path]) -> None:
    arch, folder = layer
    program = folder / "telemetry-ext" / "bin" / PROGRAM
    loader = program.parent / LOADERS[arch]
    # the program asks for the system's loader (which the host may have in another version, or not at all) ...
    assert read_dynamic(program).interpreter is not None
    assert read_dynamic(program).interpreter.endswith("/" + LOADERS[arch])  # type: ignore[union-attr]
    # ... so the launcher starts the carried one, which needs nothing itself, beside the program
    assert read_dynamic(loader).interpreter is None and read_dynamic(loader).needed == ()
    launcher = (folder / "extensions" / "telemetry-ext").read_text()
    assert 'exec "$loader" --inhibit-cache --library-path "$bin" "$bin/telemetry-ext"' in launcher


def test_the_carried_c_library_comes_with_its_licence_and_source(layer: tuple[str, Path]) -> None:
    _, folder = layer
    licenses = folder / "telemetry-ext" / "licenses"
    notice = (licenses / "NOTICE").read_text()
    assert "libc.so.6" in notice and "source glibc 2." in notice
    assert "GNU Lesser General Public" in (licenses / "libc6.copyright").read_text()
