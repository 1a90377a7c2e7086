#!/usr/bin/env bash
# The seed's dashboard from what the extension wrote: report.md, report.json and report.png.
#   scripts/report.sh --bucket BUCKET [--prefix telemetry] [--out report]     (fetches with boto3, progress shown)
#   scripts/report.sh --from FOLDER [--out report]                            (objects already on disk)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/setup.sh"
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$repo/.venv/bin/python" -m telemetry_tools report "$@"
