"""The tools that check and build are pinned: a clean clone a month from now installs what this one did.

scripts/setup.sh installs the dev venv from constraints/dev.txt (written by scripts/pin.sh); the build venv
takes Nuitka and the runtime dependencies at exact versions (build/layer_native.py, requirements-runtime.txt).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#]+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found[normalized(match.group(1))] = match.group(2)
    return found


def constraints() -> dict[str, str]:
    return pins((REPO / "constraints" / "dev.txt").read_text().splitlines())


def test_every_package_of_the_dev_venv_is_pinned_at_the_version_installed() -> None:
    installed = {normalized(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed.pop("telemetry-ext")
    pinned = constraints()
    assert {name: version for name, version in installed.items() if pinned.get(name) != version} == {}


def test_every_exact_pin_of_pyproject_agrees_with_the_constraints() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = pins(project["project"]["optional-dependencies"]["dev"] + project["build-system"]["requires"])
    pinned = constraints()
    assert declared and {name: version for name, version in declared.items() if pinned.get(name) != version} == {}


def test_the_build_venv_takes_nuitka_and_the_runtime_dependencies_at_exact_versions() -> None:
    nuitka = re.search(r'^NUITKA = "(.+)"$', (REPO / "build" / "layer_native.py").read_text(), re.MULTILINE)
    assert nuitka and PIN.match(nuitka.group(1))
    runtime = (REPO / "build" / "requirements-runtime.txt").read_text().splitlines()
    requirements = [line.strip() for line in runtime if line.strip() and not line.startswith("#")]
    assert requirements and all(PIN.match(line) for line in requirements)
