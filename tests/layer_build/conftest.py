"""The build's modules live in build/ (run as scripts, not a package): put that folder on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

BUILD = Path(__file__).resolve().parents[2] / "build"
if str(BUILD) not in sys.path:
    sys.path.insert(0, str(BUILD))
