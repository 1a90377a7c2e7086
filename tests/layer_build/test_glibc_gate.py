"""The GLIBC gate of the build (build/layer_zip.glibc_bound_check), on real ELF files read with objdump."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from layer_zip import glibc_bound_check, highest_glibc


def layer_with_a_program(folder: Path) -> Path:
    """A layer folder holding a copy of this interpreter's program (an ELF file needing some GLIBC) and a script."""
    (folder / "bin").mkdir(parents=True)
    shutil.copy2(Path(sys.executable).resolve(), folder / "bin" / "program")
    (folder / "extensions").mkdir()
    (folder / "extensions" / "launcher").write_text("#!/bin/sh\nexec true\n")
    return folder


def test_a_file_above_the_bound_fails_the_build_naming_it_and_its_version(tmp_path: Path) -> None:
    # GIVEN a layer whose program needs some GLIBC version
    layer = layer_with_a_program(tmp_path / "layer")
    needed = highest_glibc(layer / "bin" / "program")
    assert needed is not None and needed > (2, 2)
    # WHEN it is checked against a lower bound THEN the error names the file and the version it needs
    shown = ".".join(map(str, needed))
    with pytest.raises(RuntimeError, match=rf"GLIBC bound 2\.2 exceeded: bin/program needs {re.escape(shown)}$"):
        glibc_bound_check(layer, (2, 2))


def test_within_the_bound_the_highest_version_is_reported(tmp_path: Path) -> None:
    # GIVEN the same layer WHEN checked against a bound above what it needs THEN it passes, reporting the highest
    layer = layer_with_a_program(tmp_path / "layer")
    assert glibc_bound_check(layer, (99, 0)) == highest_glibc(layer / "bin" / "program")
