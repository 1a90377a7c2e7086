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


def stand_in_native_layer(folder: Path, loader: bool) -> Path:
    """The real launcher, a program and (when `loader`) a loader beside it: scripts that print how they ran."""
    launcher = folder / "extensions" / "telemetry-ext"
    launcher.parent.mkdir(parents=True)
    shutil.copy2(REPO / "layer" / "extensions" / "telemetry-ext", launcher)
    bin_dir = folder / "telemetry-ext" / "bin"
    bin_dir.mkdir(parents=True)
    report = '#!/bin/sh\necho "$0|$*|$LAMBDA_EXTENSION_NAME|${LC_ALL:-no LC_ALL}"\n'
    names = ["telemetry-ext", "ld-linux-x86-64.so.2"] if loader else ["telemetry-ext"]
    for name in names:
        (bin_dir / name).write_text(report)
        (bin_dir / name).chmod(0o755)
    return launcher


def test_the_native_flavour_runs_the_program_through_the_layers_loader_and_libraries(tmp_path: Path) -> None:
    # GIVEN a native layer that carries its loader, started by a relative path (Lambda gives an absolute one)
    stand_in_native_layer(tmp_path / "opt", loader=True)
    # WHEN the launcher runs with only the shell (no PATH: it forks no dirname or basename)
    command = ["/bin/sh", "opt/extensions/telemetry-ext", "--flag"]
    env = {"LANG": "en_US.UTF-8"}  # Lambda's
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    # THEN the loader ran the program with the layer's libraries only, the launcher's name, and the C locale
    assert result.returncode == 0, result.stderr
    bin_dir = f"{tmp_path}/opt/telemetry-ext/bin"
    assert result.stdout == (
        f"{bin_dir}/ld-linux-x86-64.so.2|--inhibit-cache --library-path {bin_dir} {bin_dir}/telemetry-ext --flag|"
        "telemetry-ext|C\n"
    )


def test_a_native_layer_without_a_loader_runs_its_program_directly(tmp_path: Path) -> None:
    launcher = stand_in_native_layer(tmp_path / "opt", loader=False)
    result = subprocess.run([str(launcher)], env={}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{tmp_path}/opt/telemetry-ext/bin/telemetry-ext||telemetry-ext|no LC_ALL\n"
