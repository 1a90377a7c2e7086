"""The build's and the set-up's errors: final, one line naming the cause, no traceback (build/build.py and
scripts/lib/steps.sh run as a user runs them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = [sys.executable, str(REPO / "build" / "build.py")]


def build(*args: str, env: dict[str, str] | None = None, dist: Path) -> subprocess.CompletedProcess[str]:
    command = [*BUILD, *args, "--dist", str(dist)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arch", "sparc"], "build: error: unknown arch 'sparc': give x86_64 or arm64"),
        (
            ["--arch", "x86_64", "--flavor", "interpreted", "--python-versions", "3.9"],
            "build: error: --python-versions: give some of 3.11, 3.12, 3.13, 3.14 (got '3.9')",
        ),
    ],
)
def test_bad_arguments_give_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    # WHEN the build is asked for something it cannot build
    result = build(*args, dist=tmp_path)
    # THEN it exits 2 with one line saying why
    assert result.returncode == 2
    assert result.stderr.strip() == message


def test_a_missing_tool_on_the_interpreted_path_is_named_not_a_traceback(tmp_path: Path) -> None:
    # GIVEN a machine with neither objdump (the GLIBC gate needs it for every flavour) nor apt-get to install it
    env = {"PATH": str(tmp_path / "empty"), "HOME": str(tmp_path)}
    # WHEN the interpreted layer is built (compare.py builds it first: issue 16 saw a raw traceback here)
    result = build("--arch", "x86_64", "--flavor", "interpreted", env=env, dist=tmp_path / "dist")
    # THEN the build stops before downloading anything, naming the package to install
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "build: error: no apt-get here: install binutils yourself (Debian-based machine expected)"
    )


def run_steps(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = (
        f"set -euo pipefail\nSTEP_PREFIX=demo STEP_LOG={tmp_path}/demo.log\n. {REPO}/scripts/lib/steps.sh\n{body}\n"
    )
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)


def test_a_step_prints_one_line_and_sends_the_tools_output_to_the_log(tmp_path: Path) -> None:
    # WHEN a step runs a chatty command that succeeds
    result = run_steps(tmp_path, 'step "saying hello" sh -c "echo chatter; echo more chatter >&2"')
    # THEN the terminal gets one line, the log gets the chatter
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr.startswith("demo: saying hello ... done (") and result.stderr.count("\n") == 1
    log = (tmp_path / "demo.log").read_text()
    assert "chatter" in log and "more chatter" in log


def test_a_failing_step_is_final_and_shows_the_cause_from_the_log(tmp_path: Path) -> None:
    # WHEN a step's command fails
    result = run_steps(
        tmp_path, 'step "installing things" sh -c "echo E: Unable to locate package nope; exit 100"\necho after'
    )
    # THEN the script stops with the command's exit code, naming the step and the log, and showing its end
    assert result.returncode == 100
    lines = result.stderr.splitlines()
    assert lines[0] == "demo: installing things ... FAILED"
    assert lines[1] == f"demo: error: installing things failed (exit 100); the end of {tmp_path}/demo.log:"
    assert "  | E: Unable to locate package nope" in lines
    assert "after" not in result.stdout
