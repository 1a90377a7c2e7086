#!/usr/bin/env bash
# The main job on embedded defaults: a short version of the comparison (scripts/compare.sh). It builds both
# layers (or reuses them), starts a real S3 server on loopback, runs two functions through AWS's awslambdaric in
# the local Lambda emulator at 128 MB three ways (no extension, interpreted, native): the seed's HeaderCounter,
# which sleeps, and one that computes (SHA-256), with the floor of a Python extension beside the layers; reads
# back what reached S3, and prints the tables. Pass compare options to change it (e.g. --invocations 40).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python scripts/bench/compare.py --invocations 10 --rounds 1 --out dist/run "$@"
