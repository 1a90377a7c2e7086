#!/usr/bin/env bash
# The README's two commands on a machine like a new user's, in the README's order: a fresh Debian bookworm root
# (debootstrap minbase, plus git and ca-certificates only), the repository cloned into it at HEAD (committed
# work only), then `scripts/run.sh` FIRST and `scripts/test.sh` after it, inside it. Fails if either fails.
#   scripts/check-fresh.sh [--keep]      (--keep: leave the root in place afterwards, for a look inside)
# Slow (about 40 minutes on 2 cores: everything is built from nothing), so not part of scripts/test.sh.
# The root runs in a private mount namespace with /proc, /sys (cgroups), /dev, /dev/pts, /dev/shm and the host's
# binfmt_misc (qemu-aarch64 for the arm64 part) mounted; the mounts vanish with the namespace. It reaches the
# network as this host does: its resolver, pip settings and CA certificates are copied in.
# The debootstrapped base is cached as a tarball (~/.cache/telemetry-ext/fresh); every run unpacks a pristine
# copy. Output: one line per step here; everything in dist/check-fresh/check-fresh.log; timings, exit codes
# and pytest's summary in dist/check-fresh/result.json. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out="$repo/dist/check-fresh"
mkdir -p "$out"
STEP_PREFIX=check-fresh
STEP_LOG="$out/check-fresh.log"
: >"$STEP_LOG"
. scripts/lib/steps.sh
keep=false
for arg in "$@"; do
    case $arg in
        --keep) keep=true ;;
        *) fail "unknown option $arg (give --keep or nothing)" ;;
    esac
done
mirror="${TELEMETRY_EXT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
recipe="debootstrap --variant=minbase --include=git,ca-certificates bookworm"
base="${TELEMETRY_EXT_CACHE:-$HOME/.cache/telemetry-ext}/fresh/bookworm-minbase-git.tar"
root="${TELEMETRY_EXT_FRESH_DIR:-/var/tmp/telemetry-ext-fresh}/root"
commit=$(git rev-parse HEAD)

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, mounts, chroot)"
if [ -n "$(missing_tools debootstrap)" ]; then
    can_apt_install debootstrap
    step "installing debootstrap from Debian's packages" apt_install debootstrap
fi
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
    echo "check-fresh: note: uncommitted changes are not tested (the root gets HEAD, $commit)" >&2

make_base() {
    local tmp="$base.work"
    rm -rf "$tmp" && mkdir -p "$tmp" &&
        $recipe "$tmp" "$mirror" && rm -rf "$tmp"/var/cache/apt/archives/*.deb &&
        tar -C "$tmp" -cf "$base.tmp" . && printf '%s\n' "$recipe" >"$base.recipe.tmp" &&
        mv "$base.tmp" "$base" && mv "$base.recipe.tmp" "$base.recipe" && rm -rf "$tmp"
}
mkdir -p "$(dirname "$base")"
if [ ! -f "$base" ] || [ "$(cat "$base.recipe" 2>/dev/null)" != "$recipe" ]; then
    step "debootstrapping the base root once (bookworm minbase + git, ca-certificates) into $base" make_base
fi

pristine_root() {
    if grep -q " $root" /proc/self/mounts; then
        echo "something is still mounted under $root: unmount it first"
        return 2
    fi
    rm -rf "$root" && mkdir -p "$root" && tar -C "$root" -xf "$base" &&
        cp /etc/resolv.conf "$root/etc/resolv.conf" &&
        # /etc/hosts as Debian's installer writes it (debootstrap leaves none: 'localhost' would not resolve)
        printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts" &&
        { [ ! -f /etc/pip.conf ] || cp /etc/pip.conf "$root/etc/pip.conf"; } &&
        { [ ! -d /usr/local/share/ca-certificates ] ||
            cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"; } &&
        cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" &&
        git clone --quiet --no-local "$repo" "$root/root/telemetry-ext" &&
        git -C "$root/root/telemetry-ext" checkout --quiet --detach "$commit"
}
step "unpacking a pristine root into $root and cloning $commit into /root/telemetry-ext" pristine_root

# inside COMMAND: run a command in the root as a new user's root shell would, with a clean environment.
inside() {
    unshare --mount --propagation private /bin/sh -c '
        r=$0
        mount --bind "$r" "$r" &&  # "/" a mount point inside, as on a machine (the emulator makes it private)
        mount -t proc proc "$r/proc" &&
        mount --rbind /sys "$r/sys" &&
        mount --bind /dev "$r/dev" &&
        mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts" &&
        mount -t tmpfs tmpfs "$r/dev/shm" &&
        { [ ! -e /proc/sys/fs/binfmt_misc/register ] ||
            mount -t binfmt_misc binfmt_misc "$r/proc/sys/fs/binfmt_misc"; } &&
        exec chroot "$r" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb LANG=C.UTF-8 \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "cd /root/telemetry-ext && $*"
    ' "$root" "$@"
}

# timed NAME COMMAND: runs it inside, records its exit code and seconds in $NAME_status / $NAME_seconds
timed() {
    local name=$1 command=$2 started=$SECONDS status=0
    printf '\n== %s: %s (%s)\n' "$STEP_PREFIX" "$command" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" >>"$STEP_LOG"
    printf '%s: %s inside the fresh root (output in %s) ... ' "$STEP_PREFIX" "$command" "$STEP_LOG" >&2
    inside "$command" </dev/null >>"$STEP_LOG" 2>&1 || status=$?
    printf -v "${name}_status" '%s' "$status"
    printf -v "${name}_seconds" '%s' "$((SECONDS - started))"
    printf 'exit %s, %s s\n' "$status" "$((SECONDS - started))" >&2
    [ "$status" -eq 0 ] || tail -n 12 "$STEP_LOG" | sed 's/^/  | /' >&2
}

timed run "scripts/run.sh"
timed test "scripts/test.sh"
# pytest's closing line, e.g. "==== 190 passed in 600.12s (0:10:00) ====", from the end of the log
pytest_summary=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$STEP_LOG" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')
cat >"$out/result.json" <<JSON
{
  "commit": "$commit",
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "machine": "$(uname -m), $(nproc) cores",
  "run_sh": {"exit": $run_status, "seconds": $run_seconds},
  "test_sh": {"exit": $test_status, "seconds": $test_seconds, "pytest": "$pytest_summary"}
}
JSON
echo "check-fresh: run.sh exit $run_status in $run_seconds s; test.sh exit $test_status in $test_seconds s ($pytest_summary)" >&2
if [ "$keep" = false ]; then
    grep -q " $root" /proc/self/mounts || rm -rf "$root"
fi
if [ "$run_status" -ne 0 ] || [ "$test_status" -ne 0 ]; then
    echo "check-fresh: FAILED: see $STEP_LOG" >&2
    exit 1
fi
echo "check-fresh: passed (result in $out/result.json)" >&2
