#!/usr/bin/env bash
# Builds a layer zip: dist/telemetry-ext-<flavor>-<arch>.zip. See build/README.md.
#   scripts/build.sh --arch x86_64|arm64 [--flavor native|interpreted] [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python build/build.py "$@"
