#!/usr/bin/env bash
# Creates .venv with the project and its pinned dev tools. Works on a fresh Debian machine: installs
# python3 (>= 3.11) and venv from Debian's packages when they are missing. Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

python_ok() { command -v python3 >/dev/null && python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
if ! python_ok; then
    echo "setup: installing python3 and python3-venv from Debian's packages" >&2
    apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-dev >/dev/null
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import telemetry_ext, moto, awslambdaric' 2>/dev/null \
        || [ pyproject.toml -nt .venv/.installed ]; then
    echo "setup: creating .venv and installing the project with its dev tools" >&2
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
    touch .venv/.installed
fi
