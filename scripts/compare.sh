#!/usr/bin/env bash
# The size/latency comparison: no extension vs interpreted vs native, side by side in one run.
#   scripts/compare.sh [--arch x86_64] [--memory 128,512,1024] [--invocations N] [--rounds R]
# Writes dist/compare/compare.{json,md,png}. Builds both layers first (or reuses them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python scripts/bench/compare.py "$@"
