#!/usr/bin/env bash
# Creates (once) the arm64 build root used for the native arm64 build and for running arm64 binaries under
# qemu: Debian bookworm arm64, debootstrapped into the cache, with Python 3.11, its headers and a C compiler.
# Needs root, debootstrap, qemu-user-static and binfmt_misc (installed/mounted here if missing; binfmt_misc
# stays mounted). Prints the root's path on stdout; one line per step on stderr; tools' output in
# dist/logs/arm64-root.log. With --binfmt-only it does only the qemu-user and binfmt_misc part (for other
# arm64 roots: build/old-root.sh).
set -euo pipefail
STEP_PREFIX=arm64-root
. "$(dirname -- "$0")/../scripts/lib/steps.sh"
root="${TELEMETRY_EXT_CACHE:-$HOME/.cache/telemetry-ext}/arm64-root"
mirror="${TELEMETRY_EXT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Installed in a second step, inside the root with /proc mounted: done by debootstrap itself, python3.11's
# postinst failed under qemu ("Failure while configuring base packages").
packages="python3.11 python3.11-dev python3.11-venv libpython3.11-dev libexpat1-dev gcc binutils patchelf ccache ca-certificates"

if [ -f "$root/.complete" ] && [ "${1:-}" != --binfmt-only ]; then echo "$root"; exit 0; fi
missing=$(missing_tools debootstrap qemu-aarch64-static update-binfmts)
if [ -n "$missing" ]; then
    can_apt_install debootstrap qemu-user-static binfmt-support
    step "installing debootstrap, qemu-user-static, binfmt-support from Debian's packages" \
        apt_install debootstrap qemu-user-static binfmt-support
fi
[ "$(id -u)" -eq 0 ] || fail "debootstrap and chroot need root"
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || fail "cannot mount binfmt_misc (needed to run arm64 programs)"
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || fail "binfmt_misc has no qemu-aarch64 entry (qemu-user-static registers it)"
if [ "${1:-}" = --binfmt-only ]; then exit 0; fi
rm -rf "$root"
step "debootstrapping Debian bookworm arm64 into $root (once, about 90 s under qemu)" \
    debootstrap --arch=arm64 --variant=minbase bookworm "$root" "$mirror"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# In its own mount namespace, /proc unmounted after. Use-Pty=0: no /dev/pts needed for dpkg's progress.
step "installing Python 3.11, its headers and gcc inside the root (about 2 minutes under qemu)" \
    unshare --mount --propagation "$(mount_propagation)" /bin/sh -c 'mount -t proc proc "$0/proc" || exit 1
        chroot "$0" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends $1
        status=$?; umount "$0/proc"; exit $status' "$root" "$packages"
touch "$root/.complete"
echo "$root"
