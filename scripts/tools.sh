#!/usr/bin/env bash
# Every telemetry_tools command: publish, policy, template, lint-template, athena, report (--help for each).
#   scripts/tools.sh policy --bucket my-bucket [--sse aws:kms --kms-key-id ARN]
#   scripts/tools.sh athena --bucket my-bucket --functions fn1,fn2
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/setup.sh"
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$repo/.venv/bin/python" -m telemetry_tools "$@"
