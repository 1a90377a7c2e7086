"""The layer's launcher (layer/extensions/telemetry-ext), run as Lambda runs it, on a stand-in layer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def stand_in_layer(folder: Path, name: str) -> Path:
    """The real launcher (under another name) and a telemetry_ext package that reports what it sees."""
    launcher = folder / "layer" / "extensions" / name
    launcher.parent.mkdir(parents=True)
    shutil.copy2(REPO / "layer" / "extensions" / "telemetry-ext", launcher)
    package = folder / "layer" / "telemetry-ext" / "python" / "telemetry_ext"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import os\n\ndef entry():\n    print('layer', os.environ['LAMBDA_EXTENSION_NAME'])\n"
    )
    return launcher


def test_the_interpreted_flavour_runs_the_layers_package_even_from_a_folder_holding_one(tmp_path: Path) -> None:
    # GIVEN the launcher, and a working directory with its own telemetry_ext (as a function's code might be)
    launcher = stand_in_layer(tmp_path, "my-telemetry")
    workdir = tmp_path / "task" / "telemetry_ext"
    workdir.mkdir(parents=True)
    (workdir / "__init__.py").write_text("")
    (workdir / "__main__.py").write_text("def entry():\n    print('shadowed')\n")
    # WHEN Lambda starts it from there
    env = {"PATH": "/usr/bin:/bin", "TELEMETRY_EXT_PYTHON": sys.executable}
    result = subprocess.run([str(launcher)], cwd=workdir.parent, env=env, capture_output=True, text=True, timeout=60)
    # THEN the layer's package ran, registering under the launcher's file name
    assert result.returncode == 0, result.stderr
    assert result.stdout == "layer my-telemetry\n"


def test_no_python_is_one_line_naming_the_way_out(tmp_path: Path) -> None:
    # GIVEN the interpreted layer on a runtime without python3 (e.g. provided.al2023)
    launcher = stand_in_layer(tmp_path, "telemetry-ext")
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("dirname", "basename"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    # WHEN Lambda starts it
    env = {"PATH": str(tools)}
    result = subprocess.run(["/bin/sh", str(launcher)], env=env, capture_output=True, text=True, timeout=60)
    # THEN it exits 1 with one line saying what is missing and what to use instead
    assert result.returncode == 1
    assert result.stderr == (
        "telemetry-ext: no python3 here: the interpreted layer needs a python3 runtime (3.11-3.14); "
        "use the native layer\n"
    )
