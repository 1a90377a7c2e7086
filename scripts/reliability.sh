#!/usr/bin/env bash
# The reliability suite (tests/reliability) with its figures: dist/reliability/summary.md.
#   scripts/reliability.sh [pytest options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh --arch x86_64 --flavor native
rm -f dist/reliability/results.jsonl
status=0
.venv/bin/pytest tests/reliability "$@" || status=$?
.venv/bin/python scripts/bench/reliability_summary.py
exit "$status"
