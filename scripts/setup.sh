#!/usr/bin/env bash
# Creates .venv with the project and its pinned dev tools. Works on a fresh Debian machine: installs python3
# (>= 3.11) and venv from Debian's packages when they are missing (root). Idempotent and quick when done.
# One line per step; apt's and pip's output goes to dist/logs/setup.log.
set -euo pipefail
cd "$(dirname "$0")/.."
STEP_PREFIX=setup
. scripts/lib/steps.sh

python_ok() { command -v python3 >/dev/null && python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
if ! python_ok; then
    can_apt_install python3 python3-venv python3-dev
    step "installing python3, python3-venv, python3-dev from Debian's packages" \
        apt_install python3 python3-venv python3-dev
    python_ok || fail "python3 >= 3.11 with venv is still missing after installing Debian's python3"
fi

# Every package at the version in constraints/dev.txt (scripts/pin.sh writes it; an update is a commit).
# PIP_CONSTRAINT, not -c: pip passes the environment on to the isolated build of the project (hatchling and
# its dependencies), which a -c on the command line does not reach.
make_venv() {
    export PIP_CONSTRAINT=$PWD/constraints/dev.txt
    python3 -m venv .venv || return
    .venv/bin/pip install --disable-pip-version-check --upgrade pip || return
    .venv/bin/pip install --disable-pip-version-check -e '.[dev]' || return
    touch .venv/.installed
}
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import telemetry_ext, moto, awslambdaric' 2>/dev/null \
        || [ pyproject.toml -nt .venv/.installed ] || [ constraints/dev.txt -nt .venv/.installed ]; then
    step "creating .venv with the project and its dev tools (pip)" make_venv
fi
