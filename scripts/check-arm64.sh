#!/usr/bin/env bash
# Builds the arm64 native layer on this x86_64 machine and runs the tests of the arm64 layer: its ELF files,
# and the end-to-end tests against the arm64 binary under qemu-user (binfmt_misc), in the bookworm build root
# and in the old roots (Debian bullseye, no C library: build/old-root.sh). scripts/test.sh (CI) does the same
# as part of the whole suite; this is the quick way to run only that.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
root=$(build/arm64-root.sh)
scripts/build.sh --arch arm64 --flavor native
build/old-root.sh arm64 --no-libc >/dev/null
TELEMETRY_EXT_ARM64_ROOT="$root" .venv/bin/pytest tests/integration/test_extension_e2e.py \
    tests/integration/test_old_root.py tests/layer_build/test_native_layer_elves.py -k "arm64" "$@"
