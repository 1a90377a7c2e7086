#!/usr/bin/env bash
# The main job on embedded defaults: the extension (from source) under the local Lambda emulator, with a real
# S3 server on loopback, running the HeaderCounter function through AWS's awslambdaric. Prints the emulator's
# measurements and what the extension wrote to S3.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
