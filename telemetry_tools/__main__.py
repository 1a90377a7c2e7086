"""Entry point: `python -m telemetry_tools <command>` (scripts/publish.sh, scripts/report.sh, ...)."""

import sys

from telemetry_tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
