"""Unit: one folder from the per-interpreter installs of the same wheels (build/layer_interpreted.merge_trees)."""

from __future__ import annotations

from pathlib import Path

import pytest
from build_steps import BuildError
from layer_interpreted import merge_trees

DIST_INFO = "orjson-3.13.0.dist-info"


def wheel_install(root: Path, version: str, init: str = "from .orjson import *\n") -> Path:
    """What `pip install --target` leaves for one interpreter's wheel of the same release."""
    tag = version.replace(".", "")
    files = {
        "orjson/__init__.py": init,
        f"orjson/orjson.cpython-{tag}-x86_64-linux-gnu.so": f"ELF for {version}",
        f"{DIST_INFO}/METADATA": "Name: orjson\nVersion: 3.13.0\n",
        f"{DIST_INFO}/WHEEL": f"Wheel-Version: 1.0\nTag: cp{tag}-cp{tag}-manylinux_2_17_x86_64\n",
        f"{DIST_INFO}/RECORD": f"orjson/orjson.cpython-{tag}-x86_64-linux-gnu.so,sha256=x,1\n",
        f"{DIST_INFO}/INSTALLER": "pip\n",
        f"{DIST_INFO}/licenses/LICENSE-MIT": "MIT\n",
        f"{DIST_INFO}/sboms/orjson.cyclonedx.json": f'{{"serialNumber": "urn:uuid:{tag}"}}',
    }
    folder = root / f"wheels-{version}"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_each_interpreter_keeps_its_own_compiled_module_and_the_source_is_shared(tmp_path: Path) -> None:
    # GIVEN the installs of one release for three interpreters
    trees = {v: wheel_install(tmp_path, v) for v in ("3.11", "3.13", "3.14")}
    # WHEN they are merged
    merge_trees(trees, tmp_path / "layer")
    # THEN the pure-Python file is there once and every interpreter's compiled module beside it
    orjson = tmp_path / "layer" / "orjson"
    assert sorted(p.name for p in orjson.iterdir()) == [
        "__init__.py",
        "orjson.cpython-311-x86_64-linux-gnu.so",
        "orjson.cpython-313-x86_64-linux-gnu.so",
        "orjson.cpython-314-x86_64-linux-gnu.so",
    ]
    assert (orjson / "orjson.cpython-313-x86_64-linux-gnu.so").read_text() == "ELF for 3.13"


def test_metadata_is_merged_per_kind_and_pips_records_are_left_out(tmp_path: Path) -> None:
    # GIVEN three installs whose WHEEL tags and SBOMs differ
    trees = {v: wheel_install(tmp_path, v) for v in ("3.11", "3.12", "3.13")}
    # WHEN they are merged
    merge_trees(trees, tmp_path / "layer")
    info = tmp_path / "layer" / DIST_INFO
    # THEN WHEEL lists every tag once, each SBOM is kept under its interpreter's name, with its own content
    tags = [line for line in (info / "WHEEL").read_text().splitlines() if line.startswith("Tag:")]
    assert tags == [f"Tag: cp{t}-cp{t}-manylinux_2_17_x86_64" for t in ("311", "312", "313")]
    sboms = {p.name: p.read_text() for p in (info / "sboms").iterdir()}
    assert sboms == {
        f"orjson.cyclonedx.cp{t}.json": f'{{"serialNumber": "urn:uuid:{t}"}}' for t in ("311", "312", "313")
    }
    # and pip's records of an installation are not shipped; the licences are
    assert not (info / "RECORD").exists() and not (info / "INSTALLER").exists()
    assert (info / "licenses" / "LICENSE-MIT").read_text() == "MIT\n"


def test_a_source_file_that_differs_between_interpreters_fails_the_build_naming_it(tmp_path: Path) -> None:
    # GIVEN two installs whose pure-Python file differs (they cannot share one folder)
    trees = {"3.11": wheel_install(tmp_path, "3.11"), "3.12": wheel_install(tmp_path, "3.12", init="other\n")}
    # WHEN they are merged THEN the build stops, naming the file and both versions
    with pytest.raises(BuildError, match=r"orjson/__init__\.py differs between the wheels for CPython 3\.11 and 3\.12"):
        merge_trees(trees, tmp_path / "layer")
