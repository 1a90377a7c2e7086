#!/usr/bin/env bash
# Builds the arm64 native layer on this x86_64 machine and runs the end-to-end tests against the arm64 binary
# under qemu-user (binfmt_misc). scripts/test.sh (CI) does the same as part of the whole suite; this is the
# quick way to run only that.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
root=$(build/arm64-root.sh)
scripts/build.sh --arch arm64 --flavor native
TELEMETRY_EXT_ARM64_ROOT="$root" .venv/bin/pytest tests/integration/test_extension_e2e.py -k "arm64" "$@"
