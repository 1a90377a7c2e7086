#!/usr/bin/env bash
# Creates (once) the arm64 build root used for the native arm64 build and for running arm64 binaries under
# qemu: Debian bookworm arm64, debootstrapped into the cache, with Python 3.11, its headers and a C compiler.
# Needs root, debootstrap, qemu-user-static and binfmt_misc (all installed/mounted here if missing).
set -euo pipefail
root="${TELEMETRY_EXT_CACHE:-$HOME/.cache/telemetry-ext}/arm64-root"
# Installed in a second step, inside the root with /proc mounted: done by debootstrap itself, python3.11's
# postinst failed under qemu ("Failure while configuring base packages").
packages="python3.11 python3.11-dev python3.11-venv libpython3.11-dev libexpat1-dev gcc binutils patchelf ccache ca-certificates"

if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi
for tool in debootstrap qemu-aarch64-static update-binfmts; do
    command -v "$tool" >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap qemu-user-static binfmt-support >/dev/null; break; }
done
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "arm64-root: binfmt_misc has no qemu-aarch64 entry" >&2; exit 2; }
echo "arm64-root: debootstrapping Debian bookworm arm64 into $root (once; ~15 min under qemu)" >&2
rm -rf "$root"
debootstrap --arch=arm64 --variant=minbase bookworm "$root" http://deb.debian.org/debian >&2
mount -t proc proc "$root/proc"
trap 'umount -l "$root/proc" 2>/dev/null || true' EXIT
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $packages >&2
touch "$root/.complete"
echo "$root"
