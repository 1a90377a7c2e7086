#!/usr/bin/env bash
# Creates (once) the roots the native layer is tested in, with a C library older than the build's or none:
#   build/old-root.sh x86_64|arm64            Debian bullseye (glibc 2.31), minbase: its own /lib and /usr/lib,
#                                             dash as /bin/sh, no python3 at all; prints its path
#   build/old-root.sh x86_64|arm64 --no-libc  a root with no C library at all (no libc.so, no loader): only a
#                                             statically linked busybox as /bin/sh; prints its path
# Both are cached under ${TELEMETRY_EXT_CACHE:-~/.cache/telemetry-ext}. The tests (tests/integration/
# test_old_root.py) and scripts/test.sh call this; the tests bind the layer, /proc, /dev, the hosts file and
# the CA bundle into a root inside a mount namespace of their own, never on disk. An arm64 root is made and
# run under qemu-user (binfmt_misc), as build/arm64-root.sh's. Needs root and debootstrap (installed if
# missing, and binutils). One line per step on stderr; tools' output in dist/logs/old-root.log.
# Bullseye is the oldest release Debian's main mirror still serves (older ones moved to its archive, which
# may not be reachable); Amazon Linux 2's glibc is 2.26 (build/README.md).
set -euo pipefail
STEP_PREFIX=old-root
. "$(dirname -- "$0")/../scripts/lib/steps.sh"
arch=${1:-}
case $arch in
    x86_64) debian_arch=amd64 ;;
    arm64) debian_arch=arm64 ;;
    *) fail "usage: build/old-root.sh x86_64|arm64 [--no-libc] (got '${arch}')" ;;
esac
release=bullseye
cache="${TELEMETRY_EXT_CACHE:-$HOME/.cache/telemetry-ext}"
root="$cache/old-root-$release-$arch"
bare="$cache/no-libc-root-$arch"
mirror="${TELEMETRY_EXT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# Mount points the tests bind over, made once so nothing is ever written into a root while it is in use.
mount_points() {
    mkdir -p "$1/proc" "$1/dev" "$1/opt" "$1/tmp" "$1/etc/pki/tls/certs"
    : >"$1/etc/hosts"
    : >"$1/etc/pki/tls/certs/ca-bundle.crt"
}

make_old_root() {
    if [ -n "$(missing_tools debootstrap objdump)" ]; then
        can_apt_install debootstrap binutils
        step "installing debootstrap, binutils from Debian's packages" apt_install debootstrap binutils
    fi
    [ "$(id -u)" -eq 0 ] || fail "debootstrap needs root"
    if [ "$arch" = arm64 ]; then
        # the same checks and set-up as the arm64 build root (qemu-user, binfmt_misc)
        "$(dirname -- "$0")/arm64-root.sh" --binfmt-only >/dev/null
    fi
    rm -rf "$root"
    # busybox-static: the only program of the root without a C library, copied into the --no-libc root
    step "debootstrapping Debian $release $debian_arch (glibc 2.31, no python3) into $root (once)" \
        debootstrap --arch="$debian_arch" --variant=minbase --include=busybox-static "$release" "$root" "$mirror"
    if compgen -G "$root/usr/bin/python3*" >/dev/null; then fail "$root has a python3: the test root must have none"; fi
    mount_points "$root"
    touch "$root/.complete"
}

make_bare_root() {
    rm -rf "$bare"
    mkdir -p "$bare/bin"
    cp "$root/bin/busybox" "$bare/bin/busybox"
    ln -s busybox "$bare/bin/sh"
    if objdump -p "$bare/bin/busybox" | grep -q NEEDED; then fail "$root/bin/busybox is not statically linked"; fi
    mount_points "$bare"
    if [ -n "$(find "$bare" -name 'libc.so*' -o -name 'ld-*.so*')" ]; then fail "$bare holds a C library"; fi
    touch "$bare/.complete"
}

[ -f "$root/.complete" ] || make_old_root
if [ "${2:-}" = --no-libc ]; then
    [ -f "$bare/.complete" ] || make_bare_root
    echo "$bare"
else
    echo "$root"
fi
