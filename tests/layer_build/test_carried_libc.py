"""Carrying the C library (build/carried_libc.py, build/notices.py), on real ELF files of this machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from carried_libc import CarryError, carry_c_library, libraries_from_root, resolve_in_root
from elf import read_dynamic
from layer_zip import glibc_bound_check, host_needs
from notices import write_notices

MULTIARCH = f"{os.uname().machine}-linux-gnu"


def program_folder(folder: Path) -> Path:
    """A folder holding a copy of this interpreter's program under the native layer's program name."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy2(Path(sys.executable).resolve(), bin_dir / "telemetry-ext")
    return bin_dir


def test_the_loader_and_every_missing_library_come_from_the_root(tmp_path: Path) -> None:
    # GIVEN a program that needs this machine's C library
    bin_dir = program_folder(tmp_path)
    assert host_needs(tmp_path), "the program should need GLIBC versions from the host before"
    # WHEN the C library is carried from this machine's root
    carried = carry_c_library(bin_dir, Path("/"), MULTIARCH)
    # THEN the program's loader and libc are beside it, and nothing is needed from the host any more
    names = [c.name for c in carried]
    loader = Path(read_dynamic(bin_dir / "telemetry-ext").interpreter or "").name
    assert names[0] == loader and "libc.so.6" in names
    assert host_needs(tmp_path) == {} and glibc_bound_check(tmp_path, (2, 0)) is None
    # and the carried program runs under the carried loader
    done = subprocess.run([str(bin_dir / loader), "--inhibit-cache", "--library-path", str(bin_dir),
                           str(bin_dir / "telemetry-ext"), "-S", "-c", "print(6 * 7)"],
                          capture_output=True, text=True, timeout=60, env={"PYTHONHOME": sys.base_prefix})  # fmt: skip
    assert done.stdout == "42\n", done.stderr


def test_the_notices_name_each_package_its_version_and_source(tmp_path: Path) -> None:
    bin_dir = program_folder(tmp_path)
    carry_c_library(bin_dir, Path("/"), MULTIARCH)
    packages = write_notices(libraries_from_root(bin_dir, Path("/"), MULTIARCH), Path("/"), tmp_path / "lic", "here")
    notice = (tmp_path / "lic" / "NOTICE").read_text()
    (libc6,) = [p for p in packages if p.name == "libc6"]
    assert re.search(rf"^[^\n]*libc\.so\.6[^\n]*: libc6 {re.escape(libc6.version)}, source glibc ", notice, re.M)
    assert (tmp_path / "lic" / "libc6.copyright").stat().st_size > 1000


def test_a_library_missing_from_the_root_is_named(tmp_path: Path) -> None:
    bin_dir = program_folder(tmp_path)
    with pytest.raises(CarryError, match=r"ld-linux.* \(needed by .*\) is not in .*empty-root"):
        carry_c_library(bin_dir, tmp_path / "empty-root", MULTIARCH)


def test_links_are_followed_inside_the_root_not_on_this_machine(tmp_path: Path) -> None:
    # GIVEN a root whose /lib64/ld.so is an absolute link, as an arm64 root's loader link is
    root = tmp_path / "root"
    (root / "usr" / "lib").mkdir(parents=True)
    (root / "usr" / "lib" / "ld-real.so").write_text("the root's")
    (root / "lib").symlink_to("usr/lib")
    (root / "lib64").mkdir()
    (root / "lib64" / "ld.so").symlink_to("/lib/ld-real.so")
    # THEN it resolves to the root's file, never to this machine's /lib
    assert resolve_in_root(root, "/lib64/ld.so") == root / "usr" / "lib" / "ld-real.so"
