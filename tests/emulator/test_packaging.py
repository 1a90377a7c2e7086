"""The emulator installs on its own: `pip install ./lambda_emulator` gives `lambda-emulator` on the PATH, with its
own dependencies and none of this repository's other packages.

Offline, as CI needs it: the wheel is built with the project's own hatchling (no build isolation, no index), and
installed with --no-index --no-deps into a scratch venv that sees the project venv's site-packages as a plain path
(its dependencies, aiohttp and orjson, without the editable install of the repository)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import orjson
import pytest

from tests.emulator.harness import REPO

pytestmark = pytest.mark.integration


def run(argv: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 REPO / "lambda_emulator", "-w", out], cwd=out)  # fmt: skip
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("lambda_emulator-*.whl")
    return found


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A venv with the wheel installed and nothing else of this repository."""
    venv = tmp_path_factory.mktemp("scratch") / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=venv.parent).returncode == 0
    python = venv / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=venv).stdout.strip()
    (Path(site) / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run([sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-deps", wheel],
                    cwd=venv.parent)  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return venv


def test_the_wheel_holds_the_package_its_scripts_and_its_readme(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = sorted(line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist"))
    assert requires == ["aiohttp>=3.10", "awslambdaric>=3; extra == 'awslambdaric'", "orjson>=3.10"]
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "lambda-emulator = lambda_emulator.cli.main:main" in entry_points
    packaged = {Path(n).relative_to("lambda_emulator").as_posix() for n in names if n.startswith("lambda_emulator/")}
    here = {p.relative_to(REPO / "lambda_emulator").as_posix() for p in (REPO / "lambda_emulator").rglob("*.py")}
    assert here <= packaged and "README.md" in packaged  # every module, sim_runtime.py and ns_holder.py among them


def test_lambda_emulator_runs_from_the_path_without_the_repository(scratch: Path, tmp_path: Path) -> None:
    # GIVEN only the installed wheel (and its dependencies): the repository is not importable from there
    python, command = scratch / "bin" / "python", scratch / "bin" / "lambda-emulator"
    probe = run([python, "-c", "import lambda_emulator, importlib.util as u; print(lambda_emulator.__file__); "
                 "print(u.find_spec('telemetry_ext'), u.find_spec('tests'))"], cwd=tmp_path)  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    location, missing = probe.stdout.splitlines()
    assert location.startswith(str(scratch)) and missing == "None None"
    # WHEN the command on the PATH runs two invokes of the simulated runtime
    completed = run([command, "run", "--invocations", "2", "--memory", "1769", "--json", tmp_path / "records.json"],
                    cwd=tmp_path, timeout=120)  # fmt: skip
    # THEN they succeed, with Lambda's defaults in the function's variables
    assert completed.returncode == 0, completed.stderr
    records = orjson.loads((tmp_path / "records.json").read_bytes())
    assert [i["status"] for i in records["invokes"]] == ["success", "success"]
    assert "invokes (ok / all)" in completed.stdout and "usage: lambda-emulator" in run([command], tmp_path).stderr
