#!/usr/bin/env bash
# Builds the arm64 native layer on this x86_64 machine and runs the end-to-end tests against the arm64 binary
# under qemu-user (binfmt_misc), alongside the source and x86_64 flavours. Not part of CI: see README.md
# ("arm64") for how long it takes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
root=$(build/arm64-root.sh)
scripts/build.sh --arch arm64 --flavor native
TELEMETRY_EXT_ARM64_ROOT="$root" .venv/bin/pytest tests/integration/test_extension_e2e.py -k "arm64" "$@"
