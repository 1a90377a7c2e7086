"""The interpreted flavour: telemetry_ext's source (and its runtime dependencies, if it has any: none today, see
requirements-runtime.txt), for every CPython of Lambda's python3 runtimes.

One folder serves them all. A compiled module carries its interpreter's tag in its file name
(name.cpython-313-x86_64-linux-gnu.so), and bytecode its cache tag (__pycache__/app.cpython-313.pyc), so
each interpreter imports its own and ignores the others'. Lambda's python/lib/python3.X/site-packages layout
would work too, but Lambda puts /opt/python on the *function's* sys.path: a dependency there would shadow the
function's own (another version). Under telemetry-ext/python only the extension sees it.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

from build_steps import ARCHES, CACHE, REPO, RUNTIME_REQUIREMENTS, BuildError, phase, run

# Lambda's python3 runtimes (shared/reference/lambda-api.md 5.7): 3.11 on Amazon Linux 2, 3.12-3.14 on AL2023
PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
# pip's records of an installation: meaningless in a layer, and different for every interpreter's wheel
PIP_RECORDS = ("RECORD", "INSTALLER", "REQUESTED")


def build_interpreted(arch: str, layer: Path, versions: list[str], work: Path) -> dict[str, list[str]]:
    """Fill layer/telemetry-ext/python; returns the versions served and those with bytecode."""
    target = layer / "telemetry-ext" / "python"
    trees = {}
    if runtime_requirements():
        for version in versions:
            phase(f"downloading the runtime dependencies' wheels for {arch}, CPython {version} (pip)")
            trees[version] = install_wheels(arch, version, work / f"wheels-{version}")
    merge_trees(trees, target)
    shutil.copytree(REPO / "telemetry_ext", target / "telemetry_ext", ignore=shutil.ignore_patterns("__pycache__"))
    interpreters = find_interpreters(versions)
    for version in versions:
        if version in interpreters:
            phase(
                f"precompiling bytecode for CPython {version} (/opt is read-only: without it every cold start compiles)"
            )
            compile_bytecode(interpreters[version], target)
        else:
            phase(
                f"no CPython {version} here to precompile with: on python{version} every cold start compiles the source"
            )
    return {"python_versions": list(versions), "bytecode": [v for v in versions if v in interpreters]}


def runtime_requirements() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in RUNTIME_REQUIREMENTS.read_text().splitlines())
    return [line for line in lines if line]


def install_wheels(arch: str, version: str, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    platform = f"manylinux2014_{ARCHES[arch]}"
    try:
        run(sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-compile",
            "--only-binary=:all:", "--platform", platform, "--python-version", version, "--implementation", "cp",
            "--target", folder, "-r", RUNTIME_REQUIREMENTS)  # fmt: skip
    except BuildError as error:
        raise BuildError(f"a dependency has no wheel for {platform}, CPython {version}: {error}") from None
    return folder


def merge_trees(trees: dict[str, Path], target: Path) -> None:
    """One folder from the per-interpreter installs (version -> folder) of the same pinned releases. Files of
    the same path must be identical (the pure-Python part), except wheel metadata: WHEEL's lines (its tags) are
    merged, a file only the wheel's build made differ (an SBOM) is kept per interpreter (name.cp313.json), and
    pip's install records (RECORD, INSTALLER, REQUESTED: meaningless in a layer) are left out."""
    origin: dict[Path, str] = {}  # the version whose wheel gave each file its untagged content
    for version, tree in trees.items():
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            relative = path.relative_to(tree)
            metadata = any(part.endswith(".dist-info") for part in relative.parts[:-1])
            into = target / relative
            if metadata and path.name in PIP_RECORDS:
                continue
            if into not in origin:
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, into)
                origin[into] = version
            elif into.exists() and filecmp.cmp(path, into, shallow=False):
                continue
            elif metadata and path.name == "WHEEL":
                known = into.read_text().splitlines()
                extra = [line for line in path.read_text().splitlines() if line not in known]
                into.write_text("\n".join(known + extra) + "\n")
            elif metadata:
                if into.exists():
                    into.rename(tagged(into, origin[into]))
                shutil.copy2(path, tagged(into, version))
            else:
                raise BuildError(f"{relative} differs between the wheels for CPython {origin[into]} and {version}")


def tagged(path: Path, version: str) -> Path:
    """orjson.cyclonedx.json -> orjson.cyclonedx.cp313.json"""
    return path.with_name(f"{path.stem}.cp{version.replace('.', '')}{path.suffix}")


def find_interpreters(versions: list[str], create: bool = True) -> dict[str, Path]:
    """A CPython for each version to precompile with: this one, one on the PATH, or the cached Debian root
    (build/cpython-root.sh: python3.13 and python3.14 from Debian unstable), created when it is needed."""
    found: dict[str, Path] = {}
    for version in versions:
        for candidate in (sys.executable, shutil.which(f"python{version}"), *root_interpreters(create=False)):
            if candidate and python_version_of(Path(candidate)) == version:
                found[version] = Path(candidate)
                break
    if create and any(v not in found for v in versions):
        for candidate in root_interpreters(create=True):
            of_root = python_version_of(candidate)
            if of_root in versions and of_root not in found:
                found[of_root] = candidate
    return found


def root_interpreters(create: bool) -> list[Path]:
    wrappers = CACHE / f"cpython-root-{os.uname().machine}" / "wrappers"
    if not wrappers.is_dir() and create:
        phase("creating the cached CPython root (Debian unstable's python3.13 and python3.14; once, about 30 s)")
        result = subprocess.run([str(REPO / "build" / "cpython-root.sh")], stdout=subprocess.DEVNULL)
        if result.returncode != 0:
            phase("could not create the CPython root (cpython-root.sh said why, above): no bytecode for those")
    return sorted(wrappers.iterdir()) if wrappers.is_dir() else []


def python_version_of(python: Path) -> str | None:
    try:
        result = subprocess.run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def compile_bytecode(python: Path, target: Path) -> None:
    """unchecked-hash: the .pyc is used without comparing the source's mtime, which the zip resets to 1980.
    One process (no -j): the Debian root's interpreters run through a wrapper, not as themselves."""
    run(python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", target)
