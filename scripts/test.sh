#!/usr/bin/env bash
# The test command (README, CI): set up, run every static gate, then every test tier. The tests start what
# they need themselves (a moto S3 server with SigV4 on, fault proxies, the Lambda emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check
# The integration tests run the native layers too: build them (reused when nothing changed since). The arm64
# binary runs under qemu-user in the end-to-end tests; its build root and first build take ~12 min on a new
# machine, ~1 min once cached (build/README.md).
scripts/build.sh --arch x86_64 --flavor native
TELEMETRY_EXT_ARM64_ROOT=$(build/arm64-root.sh)
export TELEMETRY_EXT_ARM64_ROOT
scripts/build.sh --arch arm64 --flavor native
# The roots the native layers are tested in (tests/integration/test_old_root.py): Debian bullseye (an older
# glibc, no python3) and one with no C library, each architecture; debootstrapped once, ~3.5 min in all.
for arch in x86_64 arm64; do build/old-root.sh "$arch" --no-libc >/dev/null; done
.venv/bin/pytest "$@"
