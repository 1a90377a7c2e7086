"""Flags and input shared by the commands: the extension's settings, env files, lists, progress, output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from telemetry_tools import settings
from telemetry_tools.errors import ToolError

REPO = Path(__file__).resolve().parents[1]
FLAG_SETTINGS = (
    ("--bucket", settings.BUCKET),
    ("--prefix", settings.PREFIX),
    ("--sse", settings.SSE),
    ("--kms-key-id", settings.SSE_KMS_KEY_ID),
    ("--expected-bucket-owner", settings.EXPECTED_BUCKET_OWNER),
    ("--bucket-region", settings.BUCKET_REGION),
)


def add_destination_flags(parser: argparse.ArgumentParser) -> None:
    """The extension's settings as flags; `--env-file` reads them as the function has them."""
    parser.add_argument("--env-file", type=Path, help="KEY=VALUE lines, or the JSON of "
                        "`aws lambda get-function-configuration --query Environment`; flags override it")  # fmt: skip
    for flag, variable in FLAG_SETTINGS:
        parser.add_argument(flag, dest=variable, help=f"the function's {variable}")


def destination_settings(args: argparse.Namespace) -> dict[str, str]:
    """The settings given: the env file's TELEMETRY_EXT_* variables, then the flags over them."""
    env = dict(read_env_file(args.env_file)) if args.env_file else {}
    env.update({variable: value for _, variable in FLAG_SETTINGS if (value := getattr(args, variable)) is not None})
    return {name: value for name, value in env.items() if name.startswith("TELEMETRY_EXT_")}


def destination(args: argparse.Namespace) -> settings.Destination:
    return settings.Destination.from_env(destination_settings(args))


def read_env_file(path: Path) -> Mapping[str, str]:
    try:
        text = path.read_text()
    except OSError as error:
        raise ToolError(f"{path}: {error.strerror}") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ToolError(f"{path}: not JSON ({error.msg}, line {error.lineno})") from None
        variables = data.get("Variables", data) if isinstance(data, dict) else None
        if not isinstance(variables, dict):
            raise ToolError(f'{path}: expected {{"Variables": {{...}}}} or an object of variables')
        return {str(k): str(v) for k, v in variables.items()}
    pairs = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    bad = [line for line in pairs if "=" not in line]
    if bad:
        raise ToolError(f"{path}: not KEY=VALUE: {bad[0]!r}")
    return {k.strip().removeprefix("export "): v.strip().strip("'\"") for k, v in (p.split("=", 1) for p in pairs)}


def comma_list(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""


def stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def progress_printer(label: str) -> Callable[[int, int, int], None]:
    """Object progress on stderr: rewritten in place on a terminal, every tenth otherwise."""
    terminal = sys.stderr.isatty()
    state = {"last": -1}

    def show(done: int, total: int, fetched: int) -> None:
        step = max(1, total // 10)
        if not terminal and done != total and done - state["last"] < step:
            return
        state["last"] = done
        end = "\n" if done == total or not terminal else ""
        print(
            f"\r{label}: {done}/{total} objects, {fetched / 1e6:.1f} MB fetched", end=end, file=sys.stderr, flush=True
        )

    return show


def write_json(path: Path | None, data: Any) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1) + "\n")
