#!/usr/bin/env bash
# The test command (README, CI): set up, run every static gate, then every test tier. The tests start what
# they need themselves (a moto S3 server with SigV4 on, fault proxies, the Lambda emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check
# The integration tests run the native layer too: build it (reused when nothing changed since).
scripts/build.sh --arch x86_64 --flavor native
.venv/bin/pytest "$@"
