"""Run a command where the extension sees what it sees on Lambda: S3's real host names, TLS on port 443, the
CA bundle only at the Amazon Linux path, no /etc/ssl, and (for the native flavour) no Python at all.

A private network namespace (only loopback; S3's names resolve to it through /etc/hosts) and a private mount
namespace (`unshare`, as root), so nothing on the host changes: /etc is a copy, bind-mounted over the real one
inside the namespace only, with /etc/ssl removed, /etc/pki/tls/certs/ca-bundle.crt added and the hosts file
replaced; every `python3*` in /usr/bin is masked. The command (the session, which runs the S3 server, the S3
front and the emulator) runs inside it; the project's own interpreter lives elsewhere and keeps working.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

_PRELUDE = r"""
set -eu
scratch=$1; shift
cp -a /etc/. "$scratch/etc/"
rm -rf "$scratch/etc/ssl" "$scratch/etc/pki"
mkdir -p "$scratch/etc/pki/tls/certs"
cp "$scratch/ca-bundle.crt" "$scratch/etc/pki/tls/certs/ca-bundle.crt"
cp "$scratch/hosts" "$scratch/etc/hosts"
mount --bind "$scratch/etc" /etc
for python in /usr/bin/python3*; do
    if [ -f "$python" ] && [ ! -L "$python" ]; then mount --bind /dev/null "$python"; fi
done
exec "$@"
"""


def namespaces_available() -> bool:
    return shutil.which("unshare") is not None and Path("/proc/self/ns/net").exists()


def run_in_aws_namespace(
    command: Sequence[str], *, scratch: Path, ca_bundle: bytes, hosts: dict[str, str], timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """Run `command` in fresh network and mount namespaces set up as described above."""
    (scratch / "etc").mkdir(parents=True)
    (scratch / "ca-bundle.crt").write_bytes(ca_bundle)
    lines = ["127.0.0.1 localhost"] + [f"{address} {name}" for name, address in hosts.items()]
    (scratch / "hosts").write_text("\n".join(lines) + "\n")
    argv = ["unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", _PRELUDE, "prelude"]
    return subprocess.run(
        [*argv, str(scratch), *command], capture_output=True, text=True, timeout=timeout_s, check=False
    )


def system_bundle() -> bytes:
    """The host's CA bundle, so the trust store the extension parses has a real one's size (~145 CAs)."""
    for path in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(path).exists():
            return Path(path).read_bytes()
    return b""
