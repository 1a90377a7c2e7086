"""Layers for the tests: the interpreted flavour assembled from the source tree, without a build."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def source_layer(folder: Path) -> Path:
    """extensions/telemetry-ext (the real launcher) + telemetry-ext/python/telemetry_ext -> the source."""
    (folder / "extensions").mkdir(parents=True)
    shutil.copy2(REPO / "layer" / "extensions" / "telemetry-ext", folder / "extensions" / "telemetry-ext")
    python = folder / "telemetry-ext" / "python"
    python.mkdir(parents=True)
    (python / "telemetry_ext").symlink_to(REPO / "telemetry_ext")
    return folder


def source_env() -> dict[str, str]:
    """The source flavour runs on the test's interpreter, which has the dependencies installed."""
    return {"TELEMETRY_EXT_PYTHON": sys.executable}
