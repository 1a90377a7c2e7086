#!/usr/bin/env bash
# Publish the built layer zip as a layer version per region and print a table of ARNs:
#   scripts/publish.sh --arch x86_64|arm64 [--flavor native|interpreted] [--regions r1,r2] [--public] [--dry-run]
# Needs AWS credentials (boto3's usual chain) except with --dry-run. See README ("Deploy, attach, read back").
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/setup.sh"
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$repo/.venv/bin/python" -m telemetry_tools publish "$@"
