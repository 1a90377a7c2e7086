"""`python -m telemetry_tools <command>`: publish, policy, template, lint-template, athena, report.

A user error (a flag, a setting, a file, a refusal from AWS) is one line on stderr and exit code 2; a
region that failed to publish makes exit code 1 after the table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from telemetry_tools.commands import COMMANDS
from telemetry_tools.errors import ToolError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        code: int = args.run(args)
    except ToolError as error:
        print(f"telemetry_tools {args.command}: error: {error}", file=sys.stderr)
        return 2
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m telemetry_tools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, add, run, text in COMMANDS:
        sub = commands.add_parser(name, help=text, description=text)
        add(sub)
        sub.set_defaults(run=run)
    return parser
