"""The native flavour: Nuitka standalone, on this machine (x86_64) or inside the Debian arm64 root under qemu."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from build_steps import ARCHES, CACHE, REPO, RUNTIME_REQUIREMENTS, BuildError, apt_install, phase, require_tools, run
from carried_libc import LICENSES, CarryError, carry_c_library, libraries_from_root
from notices import write_notices

NUITKA = "nuitka==4.3.3"
PACKAGE_CONFIG = "nuitka-package.config.yml"
"""What the native build changes in the standard library's import graph (start-up), see the file."""
CJK_CODECS = (
    "_multibytecodec",
    "_codecs_cn",
    "_codecs_hk",
    "_codecs_iso2022",
    "_codecs_jp",
    "_codecs_kr",
    "_codecs_tw",
)
"""Left out of the layer to make room for the C library it carries (0.40 MB of the x86_64 zip): Nuitka bundles every
codec because it imports them all early, in case the locale names one, and no option of Nuitka 4.3.3 drops an
extension module it found so (--nofollow-import-to and --noinclude-dlls do not apply to those: tried). The
extension reads and writes UTF-8 and ASCII only, and the launcher starts it in the C locale; a lookup of a CJK
codec says "unknown encoding" (the encodings package finds no C module)."""


def link_flags(static_libs: Path | str, shim: Path | str) -> str:
    """Keep the program at GLIBC <= 2.34 when built on glibc 2.36 (see build/glibc_compat.c): libraries from
    `static_libs` first (libexpat.a there, so expat is linked in and its calls can be redirected), and the
    two symbols newer than 2.34 (hypot, arc4random_buf) redirected to the shim."""
    return f"-L{static_libs} -Wl,--wrap=hypot -Wl,--wrap=arc4random_buf {shim}"


def nuitka_options() -> list[str]:
    lines = (REPO / "build" / "nuitka-options.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def require_python_headers() -> None:
    """Nuitka compiles against Python.h (python3-dev on Debian) and links expat statically (libexpat1-dev)."""
    expat = Path(f"/usr/lib/{os.uname().machine}-linux-gnu/libexpat.a")
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.exists() or (_is_debian_python() and not expat.exists()):
        phase("installing python3-dev and libexpat1-dev (Python.h, libexpat.a) from Debian's packages")
        apt_install("python3-dev", "libexpat1-dev")
    if not headers.exists():
        raise BuildError(f"{headers} is missing: Nuitka needs the headers of the Python that runs the build")


def _is_debian_python() -> bool:
    return sys.base_prefix == "/usr"


def builder_python(arch: str) -> Path:
    """A venv with Nuitka and the runtime dependencies, cached per machine."""
    venv = CACHE / f"build-venv-{arch}"
    python = venv / "bin" / "python"
    marker = venv / ".requirements"
    wanted = NUITKA + "\n" + RUNTIME_REQUIREMENTS.read_text()
    if not python.exists() or not marker.exists() or marker.read_text() != wanted:
        phase(f"creating the build venv {venv} (Nuitka and the runtime dependencies, pip)")
        run(sys.executable, "-m", "venv", "--clear", venv)
        run(python, "-m", "pip", "install", "--disable-pip-version-check", NUITKA, "-r", RUNTIME_REQUIREMENTS)
        marker.write_text(wanted)
    return python


def build_native(arch: str, layer: Path, work: Path) -> None:
    if ARCHES[arch] != os.uname().machine:
        build_native_in_root(arch, layer)
        return
    require_tools("gcc", "objdump", "strip", "patchelf", "ccache")
    require_python_headers()
    python = builder_python(arch)
    work.mkdir(parents=True, exist_ok=True)
    shim = work / "glibc_compat.o"
    run("gcc", "-O2", "-fPIC", "-c", REPO / "build" / "glibc_compat.c", "-o", shim)
    shutil.copy2(REPO / "build" / PACKAGE_CONFIG, work)  # nuitka-options.txt names it relative to where Nuitka runs
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
    phase("compiling telemetry_ext with Nuitka (Python level, then C; ccache makes rebuilds quick)")
    run(python, "-m", "nuitka", *nuitka_options(), f"--output-dir={work}", REPO / "telemetry_ext", env=env, cwd=work)
    # The build Python's extension modules may carry debug information, which Nuitka copies as it is: pyenv builds
    # them with -g (2.9 MB of a 22.7 MB layer, 1.3 MB zipped); Debian's, as in the arm64 root, come stripped.
    run("strip", "--strip-debug", *sorted((work / "telemetry_ext.dist").rglob("*.so*")))
    shutil.copytree(work / "telemetry_ext.dist", layer / "telemetry-ext" / "bin")
    finish_layer(layer, Path("/"), arch, "this machine's Debian packages")


def leave_out_cjk_codecs(bin_dir: Path) -> None:
    for path in sorted(bin_dir.glob("*.so")):
        if path.name.split(".", 1)[0] in CJK_CODECS:
            path.unlink()


def finish_layer(layer: Path, root: Path, arch: str, origin: str) -> None:
    """After Nuitka: the CJK codecs out, the build root's loader and C library in, with the licences of every
    system library shipped (build/carried_libc.py, build/notices.py)."""
    phase(f"carrying the C library the program was linked with (from {origin}), and its licence notices")
    multiarch = f"{ARCHES[arch]}-linux-gnu"
    bin_dir = layer / "telemetry-ext" / "bin"
    leave_out_cjk_codecs(bin_dir)
    try:
        carried = carry_c_library(bin_dir, root, multiarch)
        packages = write_notices(
            libraries_from_root(bin_dir, root, multiarch), root, layer / "telemetry-ext" / LICENSES, origin
        )
    except (CarryError, RuntimeError) as error:
        raise BuildError(str(error)) from None
    versions = ", ".join(f"{p.name} {p.version}" for p in packages)
    phase(f"carried {', '.join(c.name for c in carried)} (packages: {versions})")


def arm64_root() -> Path:
    """The arm64 build root: build/arm64-root.sh creates it once (about 3.5 minutes), then it is reused. Its
    progress lines go to the terminal, its tools' output to dist/logs/arm64-root.log."""
    result = subprocess.run([str(REPO / "build" / "arm64-root.sh")], stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise BuildError("cannot create the arm64 build root (arm64-root.sh said why, above)")
    return Path(result.stdout.strip().splitlines()[-1])


def _script_in_root() -> str:
    options = " ".join(nuitka_options())
    return f"""set -eu
cd /build/src
if [ ! -x /build/venv/bin/python ] || ! cmp -s requirements-runtime.txt /build/venv/.requirements; then
    python3.11 -m venv --clear /build/venv
    /build/venv/bin/pip install --disable-pip-version-check {NUITKA} -r requirements-runtime.txt
    cp requirements-runtime.txt /build/venv/.requirements
fi
gcc -O2 -fPIC -c glibc_compat.c -o glibc_compat.o
dpkg -s libexpat1-dev >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 libexpat1-dev
mkdir -p /build/static-libs && ln -sf /usr/lib/aarch64-linux-gnu/libexpat.a /build/static-libs/libexpat.a
rm -rf /build/out
export LDFLAGS="{link_flags("/build/static-libs", "/build/src/glibc_compat.o")}"
export NUITKA_CACHE_DIR=/build/nuitka-cache CCACHE_DIR=/build/ccache
/build/venv/bin/python -m nuitka {options} --output-dir=/build/out telemetry_ext
"""


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
    for name in ("glibc_compat.c", "nuitka-options.txt", PACKAGE_CONFIG, "requirements-runtime.txt"):
        shutil.copy2(REPO / "build" / name, inside / "src" / name)
    share_host_network(root)
    # In its own mount namespace (private where the system allows it: the mounts vanish with it even if the
    # build is killed), and unmounted explicitly after.
    mounts = f"""mount -t proc proc "{root}/proc" && mount --bind /dev "{root}/dev" || exit 1
chroot "{root}" /bin/sh -c "$0"; status=$?
umount "{root}/dev" "{root}/proc"; exit $status"""
    phase("compiling inside the arm64 root under qemu (about 10 minutes the first time, 1 from its caches)")
    run("unshare", "--mount", "--propagation", mount_propagation(), "/bin/sh", "-c", mounts, _script_in_root())
    shutil.copytree(inside / "out" / "telemetry_ext.dist", layer / "telemetry-ext" / "bin")
    finish_layer(layer, root, arch, "the arm64 build root's Debian packages")


def mount_propagation() -> str:
    """Private where a new mount namespace can make its mounts private (the usual case); unchanged inside a
    chroot, whose root is no mount point (scripts/check-fresh.sh runs the build so; its namespace is private)."""
    probe = ["unshare", "--mount", "--propagation", "private", "true"]
    return "private" if subprocess.run(probe, capture_output=True).returncode == 0 else "unchanged"


def share_host_network(root: Path) -> None:
    """A root reaches PyPI the way this host does: its resolver, its pip settings, and its trust store (which
    may hold a CA for the network's TLS proxy that Debian's bundle in the root lacks)."""
    for name in ("resolv.conf", "pip.conf", "ssl/certs/ca-certificates.crt"):
        if Path("/etc", name).exists():
            (root / "etc" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path("/etc", name), root / "etc" / name)
