"""The native layer in a root whose C library is older than the build's, and in one with none, both architectures.

The whole TLS tier session (tests/integration/test_tls_tier.py: register, subscribe, every event to S3 over TLS,
SHUTDOWN), but the extension runs in a real Debian bullseye root (glibc 2.31; the build's is bookworm's 2.36,
Amazon Linux 2's 2.26): its own /lib and /usr/lib, dash as /bin/sh, no python3 at all; and in a root with no
C library at all (only a statically linked busybox as /bin/sh). The roots are debootstrapped once and cached
(build/old-root.sh). The arm64 layer runs under qemu-user, in arm64 roots.

How the extension gets there: the emulator starts `/opt/extensions/telemetry-ext` in the environment as
always; in this test's layer that file is a harness (never shipped) that, in a mount namespace of its own,
binds the real layer on the root's /opt (where Lambda puts layers), /proc, /dev, a fresh /tmp, and the
environment's hosts file and CA bundle (the Amazon Linux path) into the root, read-only, then chroots into it
and execs the real launcher, which runs the real program with the layer's own loader and C library. Nothing
of the host's file system is visible to the extension.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from lambda_emulator.sandbox.layers import unpack_layer
from tests.integration.test_tls_tier import check_every_event_once, run_tls_session
from tests.support.layers import ARM64_ROOT, REPO, Flavour, built_layer

pytestmark = pytest.mark.integration
ARCHES = ["x86_64"] + (["arm64"] if ARM64_ROOT else [])  # arm64: scripts/test.sh sets TELEMETRY_EXT_ARM64_ROOT
HARNESS = r"""#!/bin/sh
# Test harness (tests/integration/test_old_root.py): the real layer, under /opt/real here, started in ROOT.
exec /usr/bin/unshare --mount --propagation private /bin/sh -c '
set -eu
root=$1; shift
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount --bind /opt/real "$root/opt"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount --bind /etc/hosts "$root/etc/hosts"
mount --bind /etc/pki/tls/certs/ca-bundle.crt "$root/etc/pki/tls/certs/ca-bundle.crt"
exec /usr/sbin/chroot "$root" /opt/extensions/telemetry-ext "$@"' harness ROOT "$@"
"""


def prepared_root(arch: str, no_libc: bool) -> Path:
    """The cached root (build/old-root.sh makes it the first time: about 40 s, 2 minutes for arm64 under qemu)."""
    command = [str(REPO / "build" / "old-root.sh"), arch, *(["--no-libc"] if no_libc else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.fail(f"build/old-root.sh {arch}: exit {done.returncode}: {done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def layer_in_root(arch: str, root: Path) -> Flavour:
    """The built native layer under /opt/real, and the harness as the extension Lambda starts."""

    def build(folder: Path) -> Path:
        unpack_layer(built_layer(f"native-{arch}")(folder), folder / "real")
        (folder / "extensions").mkdir()
        harness = folder / "extensions" / "telemetry-ext"
        harness.write_text(HARNESS.replace("ROOT", str(root)))
        harness.chmod(0o755)
        return folder

    return Flavour(f"native-{arch}-in-{root.name}", build, {"LANG": "en_US.UTF-8"})


def debian_version(root: Path, package: str) -> str | None:
    """The installed version of `package` in `root` (its dpkg status), None if it is not installed."""
    status = (root / "var" / "lib" / "dpkg" / "status").read_text()
    for paragraph in status.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in paragraph.splitlines() if ": " in line)
        if fields.get("Package") == package and "installed" in fields.get("Status", ""):
            return fields["Version"]
    return None


def carried_glibc(arch: str, tmp_path: Path) -> str:
    """The version of the C library the built layer carries, from its NOTICE."""
    unpack_layer(built_layer(f"native-{arch}")(tmp_path), tmp_path / "carried")
    notice = (tmp_path / "carried" / "telemetry-ext" / "licenses" / "NOTICE").read_text()
    (line,) = [line for line in notice.splitlines() if ": libc6 " in line]
    return line.split(": libc6 ", 1)[1].split(",", 1)[0]


def session(tmp_path: Path, flavour: Flavour) -> None:
    bucket = f"old-root-{uuid.uuid4().hex[:8]}"
    result = run_tls_session(tmp_path, flavour, "Amazon Root CA 1", bucket=bucket, bucket_region="us-east-1",
                             credentials="env", settings={"flush_interval_ms": 0})  # fmt: skip
    summary = check_every_event_once(result)
    assert summary["written"] > 0
    puts = [e for e in result["front_log"] if e["method"] == "PUT"]
    assert puts and all(e["host"] == f"{bucket}.s3.us-east-1.amazonaws.com" and e["status"] == 200 for e in puts)


@pytest.mark.parametrize("arch", ARCHES)
def test_the_native_layer_in_a_root_with_an_older_c_library_and_no_python(tmp_path: Path, arch: str) -> None:
    # GIVEN Debian bullseye: a C library older than the one the layer was built with, and no python3
    root = prepared_root(arch, no_libc=False)
    root_glibc = debian_version(root, "libc6")
    assert root_glibc is not None and root_glibc.startswith("2.31"), root_glibc
    build_glibc = carried_glibc(arch, tmp_path / "notice")
    assert tuple(map(int, root_glibc.split("-")[0].split("."))) < tuple(map(int, build_glibc.split("-")[0].split(".")))
    assert not list((root / "usr" / "bin").glob("python*")) and debian_version(root, "python3") is None
    # WHEN a function runs with the native layer there THEN every event is in S3 once, over TLS, and it exits
    session(tmp_path, layer_in_root(arch, root))


@pytest.mark.parametrize("arch", ARCHES)
def test_the_native_layer_in_a_root_with_no_c_library_at_all(tmp_path: Path, arch: str) -> None:
    # GIVEN a root with no C library (no libc.so, no loader): a static busybox is its only program
    root = prepared_root(arch, no_libc=True)
    files = [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]
    assert not [p for p in files if p.name.startswith(("libc.so", "ld-linux", "ld-musl"))]
    # WHEN a function runs with the native layer there THEN the layer's own C library is all it needs
    session(tmp_path, layer_in_root(arch, root))
