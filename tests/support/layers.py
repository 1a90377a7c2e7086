"""Layers for the tests: each flavour of the extension as a layer directory the emulator can unpack."""

from __future__ import annotations

import compileall
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def source_layer(folder: Path) -> Path:
    """The interpreted flavour without a build: the real launcher + a copy of the source package (a copy, as a
    layer holds it: a link into a checkout under /tmp would point into the environment's private /tmp)."""
    (folder / "extensions").mkdir(parents=True)
    shutil.copy2(REPO / "layer" / "extensions" / "telemetry-ext", folder / "extensions" / "telemetry-ext")
    python = folder / "telemetry-ext" / "python"
    python.mkdir(parents=True)
    shutil.copytree(REPO / "telemetry_ext", python / "telemetry_ext", ignore=shutil.ignore_patterns("__pycache__"))
    # with its bytecode, as the built layer has it (/opt is read-only: without it every start compiles the source)
    compileall.compile_dir(python / "telemetry_ext", quiet=1)
    return folder


@dataclass(frozen=True)
class Flavour:
    name: str
    build: Callable[[Path], Path]
    env: dict[str, str] = field(default_factory=dict)

    def layer(self, tmp_path: Path) -> Path:
        return self.build(tmp_path / f"layer-{self.name}")


def built_layer(name: str) -> Callable[[Path], Path]:
    """A zip from scripts/build.sh; scripts/test.sh builds it before the tests. Missing: fail, never skip."""

    def locate(folder: Path) -> Path:
        path = REPO / "dist" / f"telemetry-ext-{name}.zip"
        if not path.exists():
            arch, flavour = name.rsplit("-", 1)[1], name.rsplit("-", 1)[0]
            raise FileNotFoundError(f"{path} is missing: run scripts/build.sh --arch {arch} --flavor {flavour}")
        return path

    return locate


# The source flavour runs on the test's interpreter, which has the dependencies installed.
SOURCE = Flavour("source", source_layer, {"TELEMETRY_EXT_PYTHON": sys.executable})
NATIVE = Flavour("native", built_layer("native-x86_64"))
FLAVOURS = [SOURCE, NATIVE]

# The arm64 binary, run under qemu-user through binfmt_misc, its C library from the arm64 build root, in the
# end-to-end tests only: qemu is ~10x slower, which says nothing about the binary in the reliability cases
# that run at 128 MB or against a deadline. scripts/test.sh sets TELEMETRY_EXT_ARM64_ROOT.
ARM64_ROOT = os.environ.get("TELEMETRY_EXT_ARM64_ROOT")
E2E_FLAVOURS = FLAVOURS + (
    [Flavour("native-arm64", built_layer("native-arm64"), {"QEMU_LD_PREFIX": ARM64_ROOT})] if ARM64_ROOT else []
)
