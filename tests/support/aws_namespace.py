"""Run a command where the extension sees what it sees on Lambda: S3's real host names, TLS on port 443, the
CA bundle only at the Amazon Linux path, no /etc/ssl, and (for the native flavour) no Python at all.

A private network namespace (only loopback; S3's names resolve to it through /etc/hosts) and a private mount
namespace (`unshare`, as root), so nothing on the host changes: /etc is a copy, bind-mounted over the real one
inside the namespace only, with /etc/ssl removed, /etc/pki/tls/certs/ca-bundle.crt added and the hosts file
replaced; every `python3*` in /usr/bin is masked. The project's interpreter (the session runs the S3 server, the
S3 front and the emulator with it) is seen inside at `<scratch>/python/bin/python3`, a bind of its binary made
before the masking, with its environment's pyvenv.cfg and lib/ beside it: on a Debian machine the project's
venv runs /usr/bin/python3.11, masked like the others.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_PRELUDE = r"""
set -eu
scratch=$1; workdir=$2; shift 2
cp -a /etc/. "$scratch/etc/"
rm -rf "$scratch/etc/ssl" "$scratch/etc/pki"
mkdir -p "$scratch/etc/pki/tls/certs"
cp "$scratch/ca-bundle.crt" "$scratch/etc/pki/tls/certs/ca-bundle.crt"
cp "$scratch/hosts" "$scratch/etc/hosts"
mount --bind "$scratch/etc" /etc
view="$scratch/python"
mkdir -p "$view/bin" && : >"$view/bin/python3"
mount --bind "$(readlink -f "$PROJECT_PYTHON")" "$view/bin/python3"
if [ -f "$PROJECT_PREFIX/pyvenv.cfg" ]; then
    cp "$PROJECT_PREFIX/pyvenv.cfg" "$view/pyvenv.cfg"
    mkdir "$view/lib" && mount --bind "$PROJECT_PREFIX/lib" "$view/lib"
fi
for python in /usr/bin/python3*; do
    if [ -f "$python" ] && [ ! -L "$python" ]; then mount --bind /dev/null "$python"; fi
done
cd "$workdir"
exec "$view/bin/python3" "$@"
"""


def namespaces_available() -> bool:
    return shutil.which("unshare") is not None and Path("/proc/self/ns/net").exists()


def run_in_aws_namespace(
    python_args: Sequence[str],
    *,
    cwd: Path,
    scratch: Path,
    ca_bundle: bytes,
    hosts: dict[str, str],
    timeout_s: float,
    python: str = sys.executable,
) -> subprocess.CompletedProcess[str]:
    """Run `python python_args` in `cwd`, in fresh network and mount namespaces set up as described above."""
    (scratch / "etc").mkdir(parents=True)
    (scratch / "ca-bundle.crt").write_bytes(ca_bundle)
    lines = ["127.0.0.1 localhost"] + [f"{address} {name}" for name, address in hosts.items()]
    (scratch / "hosts").write_text("\n".join(lines) + "\n")
    argv = ["unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", _PRELUDE, "prelude"]
    prefix = Path(python).parent.parent  # the venv (or installation) the interpreter runs from
    environment = {**os.environ, "PROJECT_PYTHON": python, "PROJECT_PREFIX": str(prefix)}
    return subprocess.run(
        [*argv, str(scratch), str(cwd), *python_args],
        env=environment, capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip


def system_bundle() -> bytes:
    """The host's CA bundle, so the trust store the extension parses has a real one's size (~145 CAs)."""
    for path in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(path).exists():
            return Path(path).read_bytes()
    return b""
