"""`scripts/check` stops at each of its gates: a scratch copy of the repository with one deliberately bad file
must make it exit non-zero and name the gate that failed (under `set -e`, a failure inside an `a && b` list is
ignored: mypy's errors once never failed a run)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
Breakage = Callable[[Path], None]


def a_lint_error(copy: Path) -> None:
    (copy / "telemetry_ext" / "gate_probe.py").write_text('"""Probe."""\n\nimport os\n')


def a_format_error(copy: Path) -> None:
    (copy / "telemetry_ext" / "gate_probe.py").write_text('"""Probe."""\n\nVALUES = [1,2]\n')


def a_type_error(copy: Path) -> None:
    (copy / "telemetry_ext" / "gate_probe.py").write_text('"""Probe."""\n\nCOUNT: int = "one"\n')


def a_type_error_in_a_benchmark(copy: Path) -> None:
    """The third of mypy's runs (scripts/bench, checked apart): a failure there must stop the gate too."""
    (copy / "scripts" / "bench" / "chart.py").write_text('"""Probe."""\n\nCOUNT: int = "one"\n')


def a_forbidden_import(copy: Path) -> None:
    probe = '"""Probe."""\n\nimport lambda_emulator\n\nNAME = lambda_emulator.__name__\n'
    (copy / "telemetry_ext" / "gate_probe.py").write_text(probe)


def a_broken_template(copy: Path) -> None:
    template = copy / "deploy" / "template.yaml"
    text = template.read_text()
    assert "Type: AWS::Serverless::LayerVersion" in text
    template.write_text(text.replace("Type: AWS::Serverless::LayerVersion", "Type: AWS::Serverless::LayerVerzion"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as a clean clone would have it (tracked and new files, none ignored), beside this
    checkout's .venv and mypy cache."""
    copy = tmp_path_factory.mktemp("pristine") / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, files.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (copy / ".venv").symlink_to(REPO / ".venv")
    if (REPO / ".mypy_cache").is_dir():
        shutil.copytree(REPO / ".mypy_cache", copy / ".mypy_cache")
    return copy


def run_check(copy: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["scripts/check"], cwd=copy, capture_output=True, text=True, timeout=600)


def test_the_pristine_copy_passes_every_gate(pristine: Path) -> None:
    run = run_check(pristine)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count(": passed") == 5, run.stdout


@pytest.mark.parametrize(
    ("breakage", "gate"),
    [
        (a_lint_error, "ruff lint"),
        (a_format_error, "ruff format"),
        (a_type_error, "mypy --strict"),
        (a_type_error_in_a_benchmark, "mypy --strict"),
        (a_forbidden_import, "import contracts"),
        (a_broken_template, "cfn-lint deploy/template.yaml"),
    ],
)
def test_each_gate_stops_the_run_and_is_named(pristine: Path, tmp_path: Path, breakage: Breakage, gate: str) -> None:
    # GIVEN a copy of the repository with one bad file
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy, symlinks=True)
    breakage(copy)
    # WHEN the static gates run
    run = run_check(copy)
    # THEN the run fails at that gate, names it, and runs no gate after it
    assert run.returncode != 0, run.stdout
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith(f"check: {gate}") and last.endswith("FAILED (exit 1)"), run.stdout
    assert run.stdout.count(": FAILED") == 1
