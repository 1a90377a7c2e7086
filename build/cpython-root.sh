#!/usr/bin/env bash
# Creates (once) a Debian unstable root for this machine's architecture holding CPython 3.13 and 3.14, the
# interpreters of Lambda's python3.13/python3.14 runtimes that Debian stable lacks. The interpreted build
# precompiles their bytecode with them (bytecode does not depend on the architecture); the tests run the
# interpreted layer on them. wrappers/python3.X runs one through the root's own loader and C library, so no
# chroot is needed. Prints the root's path on stdout; one line per step on stderr; tools' output in
# dist/logs/cpython-root.log. Needs root and debootstrap (installed if missing).
set -euo pipefail
STEP_PREFIX=cpython-root
. "$(dirname -- "$0")/../scripts/lib/steps.sh"
root="${TELEMETRY_EXT_CACHE:-$HOME/.cache/telemetry-ext}/cpython-root-$(uname -m)"
versions="3.13 3.14"
mirror="${TELEMETRY_EXT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi
if [ -n "$(missing_tools debootstrap)" ]; then
    can_apt_install debootstrap
    step "installing debootstrap from Debian's packages" apt_install debootstrap
fi
[ "$(id -u)" -eq 0 ] || fail "debootstrap needs root"
rm -rf "$root"
packages=$(printf 'python%s,' $versions)
step "debootstrapping Debian unstable with ${packages%,} into $root (once, about 30 s)" \
    debootstrap --variant=minbase --include="${packages%,}" sid "$root" "$mirror"
loader=$(cd "$root" && ls usr/lib/"$(uname -m)"-linux-gnu/ld-linux*.so.[0-9] | head -n 1)
[ -n "$loader" ] || fail "no dynamic loader found in $root"
mkdir -p "$root/wrappers"
for version in $versions; do
    cat >"$root/wrappers/python$version" <<WRAPPER
#!/bin/sh
# CPython $version from the Debian root around this folder, run by that root's loader and C library.
exec "$root/$loader" --library-path "$root/usr/lib/$(uname -m)-linux-gnu" "$root/usr/bin/python$version" "\$@"
WRAPPER
    chmod 0755 "$root/wrappers/python$version"
    "$root/wrappers/python$version" -c 'import ssl, asyncio' || fail "python$version in $root does not start"
done
touch "$root/.complete"
echo "$root"
