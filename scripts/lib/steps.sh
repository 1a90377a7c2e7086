# Quiet set-up steps for the project's shell scripts (sourced, not run). A step prints one line to stderr,
#   setup: installing python3, python3-venv from Debian's packages ... done (12 s)
# and sends the output of the tools it runs (apt, dpkg, pip, debootstrap) to a log file. A failure is final: one
# line naming the step, the exit code and the log, then the log's last lines so the cause is on the screen.
#   STEP_PREFIX  word before the colon (default: the script's name)
#   STEP_LOG     the log file (default: dist/logs/<prefix>.log under the repository)

_steps_repo=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
STEP_PREFIX=${STEP_PREFIX:-$(basename -- "$0" .sh)}
STEP_LOG=${STEP_LOG:-$_steps_repo/dist/logs/$STEP_PREFIX.log}

# step "what it does" command [args...]
step() {
    local what=$1 started=$SECONDS status=0
    shift
    mkdir -p "$(dirname -- "$STEP_LOG")"
    printf '\n== %s: %s (%s)\n' "$STEP_PREFIX" "$what" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" >>"$STEP_LOG"
    printf '%s: %s ... ' "$STEP_PREFIX" "$what" >&2
    "$@" </dev/null >>"$STEP_LOG" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        printf 'FAILED\n%s: error: %s failed (exit %s); the end of %s:\n' \
            "$STEP_PREFIX" "$what" "$status" "$STEP_LOG" >&2
        tail -n 12 "$STEP_LOG" | sed 's/^/  | /' >&2
        exit "$status"
    fi
    printf 'done (%s s)\n' "$((SECONDS - started))" >&2
}

# fail "why": a final one-line error.
fail() {
    printf '%s: error: %s\n' "$STEP_PREFIX" "$1" >&2
    exit 2
}

# can_apt_install package...: a final one-line error unless this machine can install Debian's packages (root, apt).
can_apt_install() {
    command -v apt-get >/dev/null || fail "no apt-get here: install $* yourself (a Debian-based machine is expected)"
    [ "$(id -u)" -eq 0 ] || fail "installing $* from Debian's packages needs root: run as root, or install them first"
}

# apt_install package...: Debian's packages, non-interactively, quietly (run it inside `step`, after
# can_apt_install). Use-Pty=0: dpkg's progress bar needs /dev/pts, absent in a fresh chroot.
apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get update -q -o Dpkg::Use-Pty=0 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 "$@"
}

# missing_tools tool...: prints the tools not on the PATH
missing_tools() {
    local tool
    for tool in "$@"; do command -v "$tool" >/dev/null || printf '%s ' "$tool"; done
}

# mount_propagation: "private" where a new mount namespace can make its mounts private (the usual case), so
# they cannot show up outside it; "unchanged" inside a chroot, whose root is no mount point (the namespace
# then inherits the chroot's propagation, and its mounts are also unmounted explicitly).
mount_propagation() {
    if unshare --mount --propagation private true 2>/dev/null; then echo private; else echo unchanged; fi
}
