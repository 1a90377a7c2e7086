"""Build a layer zip: the native flavour (Nuitka standalone) or the interpreted one (source + wheels).

    python build/build.py --arch x86_64|arm64 [--flavor native|interpreted] [--force]

Outputs go to dist/ only: dist/telemetry-ext-<flavor>-<arch>.zip and a .json beside it (sizes, sha256, build
time, highest GLIBC symbol version). Caches live under ~/.cache/telemetry-ext (build venv, Nuitka's cache,
ccache) and are reused between builds on one machine. A zip newer than every input is reused unless --force.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from layer_zip import glibc_bound_check, write_reproducible_zip

REPO = Path(__file__).resolve().parents[1]
DIST = REPO / "dist"
CACHE = Path(os.environ.get("TELEMETRY_EXT_CACHE", Path.home() / ".cache" / "telemetry-ext"))
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
NUITKA = "nuitka==4.3.3"
RUNTIME_REQUIREMENTS = REPO / "build" / "requirements-runtime.txt"
GLIBC_BOUND = (2, 34)
STARTED = time.monotonic()


class BuildError(Exception):
    """A clear, final error: printed without a traceback."""


def phase(message: str) -> None:
    print(f"[build {time.monotonic() - STARTED:6.1f} s] {message}", flush=True)


def run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    result = subprocess.run([str(c) for c in command], env=env, cwd=cwd)
    if result.returncode != 0:
        shown = " ".join(map(str, command))
        raise BuildError(f"{Path(str(command[0])).name} failed (exit {result.returncode}): {shown}")


def require_tools(*tools: str) -> None:
    """Install what the build needs from Debian's packages when it is missing (CI starts from nothing)."""
    packages = {"gcc": "gcc", "objdump": "binutils", "patchelf": "patchelf", "ccache": "ccache"}
    missing = [packages[t] for t in tools if shutil.which(t) is None]
    if missing:
        phase(f"installing {', '.join(missing)} from Debian's packages")
        run("apt-get", "update", "-qq")
        run("apt-get", "install", "-y", "-qq", *missing)
    still = [t for t in tools if shutil.which(t) is None]
    if still:
        raise BuildError(f"missing tool(s): {', '.join(still)}")


def link_flags(static_libs: Path | str, shim: Path | str) -> str:
    """Keep the program at GLIBC <= 2.34 when built on glibc 2.36 (see build/glibc_compat.c): libraries from
    `static_libs` first (libexpat.a there, so expat is linked in and its calls can be redirected), and the
    two symbols newer than 2.34 (hypot, arc4random_buf) redirected to the shim."""
    return f"-L{static_libs} -Wl,--wrap=hypot -Wl,--wrap=arc4random_buf {shim}"


def require_python_headers() -> None:
    """Nuitka compiles against Python.h: on a fresh Debian machine that is the python3-dev package."""
    import sysconfig

    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        phase("installing python3-dev (Python.h) from Debian's packages")
        run("apt-get", "update", "-qq")
        run("apt-get", "install", "-y", "-qq", "python3-dev", "libexpat1-dev")


def inputs_newest() -> float:
    paths = [*(REPO / "telemetry_ext").rglob("*.py"), *(REPO / "build").iterdir(), REPO / "layer" / "extensions"]
    return max(p.stat().st_mtime for p in paths if p.is_file() or p.is_dir())


def builder_python(arch: str) -> Path:
    """A venv with Nuitka and the runtime dependencies, cached per machine."""
    venv = CACHE / f"build-venv-{arch}"
    python = venv / "bin" / "python"
    marker = venv / ".requirements"
    wanted = NUITKA + "\n" + RUNTIME_REQUIREMENTS.read_text()
    if not python.exists() or not marker.exists() or marker.read_text() != wanted:
        phase(f"creating the build venv {venv}")
        run(sys.executable, "-m", "venv", "--clear", venv)
        run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", NUITKA, "-r", RUNTIME_REQUIREMENTS)
        marker.write_text(wanted)
    return python


def nuitka_options() -> list[str]:
    lines = (REPO / "build" / "nuitka-options.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def build_native(arch: str, layer: Path) -> None:
    if ARCHES[arch] != os.uname().machine:
        build_native_in_root(arch, layer)
        return
    require_tools("gcc", "objdump", "patchelf", "ccache")
    require_python_headers()
    python = builder_python(arch)
    work = DIST / "build" / f"native-{arch}"
    work.mkdir(parents=True, exist_ok=True)
    shim = work / "glibc_compat.o"
    run("gcc", "-O2", "-fPIC", "-c", REPO / "build" / "glibc_compat.c", "-o", shim)
    static = work / "static-libs"
    static.mkdir(exist_ok=True)
    expat = Path(f"/usr/lib/{ARCHES[arch]}-linux-gnu/libexpat.a")
    if expat.exists():
        (static / "libexpat.a").unlink(missing_ok=True)
        (static / "libexpat.a").symlink_to(expat)
    env = {
        **os.environ,
        "LDFLAGS": link_flags(static, shim),
        "NUITKA_CACHE_DIR": str(CACHE / "nuitka"),
        "CCACHE_DIR": str(CACHE / "ccache"),
        "PYTHONPATH": str(REPO),
    }
    phase("compiling telemetry_ext with Nuitka (Python level, then C; ccache makes rebuilds faster)")
    run(python, "-m", "nuitka", *nuitka_options(), f"--output-dir={work}", REPO / "telemetry_ext", env=env, cwd=work)
    program = layer / "telemetry-ext" / "bin"
    shutil.copytree(work / "telemetry_ext.dist", program)


def arm64_root() -> Path:
    """The arm64 build root (build/arm64-root.sh creates it once, ~4 to 15 min, then it is reused)."""
    result = subprocess.run([str(REPO / "build" / "arm64-root.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"cannot create the arm64 build root: {result.stderr.strip()[-500:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def build_native_in_root(arch: str, layer: Path) -> None:
    """Nuitka and gcc run inside a Debian arm64 root under qemu-user (binfmt_misc): slow, but the result is
    built by the target's own toolchain against the target's own libraries."""
    if arch != "arm64":
        raise BuildError(f"no build root for {arch}")
    root = arm64_root()
    phase(f"arm64 build root: {root}")
    inside = root / "build"
    shutil.rmtree(inside / "src", ignore_errors=True)
    (inside / "src").mkdir(parents=True)
    shutil.copytree(
        REPO / "telemetry_ext", inside / "src" / "telemetry_ext", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("glibc_compat.c", "nuitka-options.txt", "requirements-runtime.txt"):
        shutil.copy2(REPO / "build" / name, inside / "src" / name)
    # The root reaches PyPI the way this host does: its resolver, its pip settings, and its trust store (which
    # may hold a CA for the network's TLS proxy that Debian's bundle in the root lacks).
    for name in ("resolv.conf", "pip.conf", "ssl/certs/ca-certificates.crt"):
        if Path("/etc", name).exists():
            shutil.copy2(Path("/etc", name), root / "etc" / name)
    options = " ".join(nuitka_options())
    script = f"""set -eu
cd /build/src
if [ ! -x /build/venv/bin/python ] || ! cmp -s requirements-runtime.txt /build/venv/.requirements; then
    python3.11 -m venv --clear /build/venv
    /build/venv/bin/pip install -q --disable-pip-version-check {NUITKA} -r requirements-runtime.txt
    cp requirements-runtime.txt /build/venv/.requirements
fi
gcc -O2 -fPIC -c glibc_compat.c -o glibc_compat.o
dpkg -s libexpat1-dev >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q libexpat1-dev
mkdir -p /build/static-libs && ln -sf /usr/lib/aarch64-linux-gnu/libexpat.a /build/static-libs/libexpat.a
rm -rf /build/out
export LDFLAGS="{link_flags("/build/static-libs", "/build/src/glibc_compat.o")}"
export NUITKA_CACHE_DIR=/build/nuitka-cache CCACHE_DIR=/build/ccache
/build/venv/bin/python -m nuitka {options} --output-dir=/build/out telemetry_ext
"""
    mounts = [root / "proc", root / "dev"]
    run("mount", "-t", "proc", "proc", mounts[0])
    run("mount", "--bind", "/dev", mounts[1])
    try:
        phase("compiling inside the arm64 root under qemu (tens of minutes the first time)")
        run("chroot", root, "/bin/sh", "-c", script)
    finally:
        for mount in reversed(mounts):
            subprocess.run(["umount", "-l", str(mount)], check=False)
    shutil.copytree(inside / "out" / "telemetry_ext.dist", layer / "telemetry-ext" / "bin")


def build_interpreted(arch: str, layer: Path, python_version: str) -> None:
    target = layer / "telemetry-ext" / "python"
    phase(f"installing the runtime dependencies' wheels for {arch}, CPython {python_version}")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile"]
    platform = f"manylinux2014_{ARCHES[arch]}"
    wheels = ["--only-binary=:all:", "--platform", platform, "--python-version", python_version]
    wheels += ["--implementation", "cp"]
    try:
        run(*pip, *wheels, "--target", target, "-r", RUNTIME_REQUIREMENTS)
    except BuildError as error:
        raise BuildError(f"a dependency has no wheel for {platform}, CPython {python_version}: {error}") from None
    shutil.copytree(REPO / "telemetry_ext", target / "telemetry_ext", ignore=shutil.ignore_patterns("__pycache__"))
    phase("precompiling bytecode (/opt is read-only on Lambda: without .pyc every cold start compiles)")
    run(sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", required=True, help="x86_64 or arm64")
    parser.add_argument("--flavor", default="native", choices=["native", "interpreted"])
    parser.add_argument("--python-version", default=f"{sys.version_info.major}.{sys.version_info.minor}",
                        help="interpreted flavour: the CPython of the target runtime (default: this one)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="rebuild even when the zip is up to date")
    args = parser.parse_args()
    if args.arch not in ARCHES:
        raise BuildError(f"unknown arch {args.arch!r}: give x86_64 or arm64")
    name = f"telemetry-ext-{args.flavor}-{args.arch}"
    zip_path, info_path = DIST / f"{name}.zip", DIST / f"{name}.json"
    if not args.force and zip_path.exists() and info_path.exists() and zip_path.stat().st_mtime > inputs_newest():
        phase(f"{zip_path.relative_to(REPO)} is up to date (use --force to rebuild)")
        print(info_path.read_text())
        return 0
    layer = DIST / "layers" / name
    shutil.rmtree(layer, ignore_errors=True)
    (layer / "extensions").mkdir(parents=True)
    shutil.copy2(REPO / "layer" / "extensions" / "telemetry-ext", layer / "extensions" / "telemetry-ext")
    phase(f"building {name}")
    if args.flavor == "native":
        build_native(args.arch, layer)
    else:
        build_interpreted(args.arch, layer, args.python_version)
    phase("checking the GLIBC symbol versions of every ELF file")
    try:
        highest = glibc_bound_check(layer, GLIBC_BOUND)
    except RuntimeError as error:
        raise BuildError(str(error)) from None
    phase("writing the reproducible zip")
    info = write_reproducible_zip(layer, zip_path)
    info.update(flavor=args.flavor, arch=args.arch, build_seconds=round(time.monotonic() - STARTED, 1),
                max_glibc=".".join(map(str, highest)) if highest else None)  # fmt: skip
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    phase(f"done: {zip_path.relative_to(REPO)}")
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as error:
        print(f"build: error: {error}", file=sys.stderr)
        sys.exit(2)
