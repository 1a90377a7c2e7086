"""How a failure is told: one line naming the process and its error, and the output that explains it.

Lambda reports an init failure, a crash or a timeout as a status and an errorType (lambda-api.md §3.1) and puts
the processes' output in the function's log. The emulator's records carry both: `error_type`, `error_message`
(one line: "extension NAME exited with status 1; last output: ModuleNotFoundError: No module named 'requests'")
and `output`, each process's last lines, bounded (OUTPUT_LINES lines of at most OUTPUT_LINE_CHARS characters).
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from typing import Final

import orjson

from lambda_emulator.sandbox.processes import Process

OUTPUT_LINES: Final = 100
OUTPUT_LINE_CHARS: Final = 2000
MESSAGE_CHARS: Final = 500


def who(process: Process) -> str:
    return "runtime" if process.label == "runtime" else f"extension {process.label}"


def exit_message(process: Process) -> str:
    """ "extension x exited with status 2; last output: <its last line>" (or "was killed by SIGKILL")."""
    code = process.process.returncode
    if code is None:
        how = "is still running"
    elif code < 0:
        how = f"was killed by {_signal_name(-code)}"
    else:
        how = f"exited with status {code}"
    last = last_line(process.output)
    return one_line(f"{who(process)} {how}" + (f"; last output: {last}" if last else ""))


def reported_message(subject: str, error_type: str, body: bytes) -> str:
    """ "extension x reported Extension.ConfigInvalid: <errorMessage of the body>"."""
    detail = error_message_of(body)
    return one_line(f"{subject} reported {error_type}" + (f": {detail}" if detail else ""))


def error_message_of(body: bytes) -> str:
    """The `errorMessage` of an error body, else the body as text."""
    try:
        parsed = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        return str(parsed["errorMessage"])
    return body.decode("utf-8", "replace")


def last_line(lines: Iterable[str]) -> str:
    kept = [line.strip() for line in lines if line.strip()]
    return kept[-1] if kept else ""


def one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MESSAGE_CHARS else flat[: MESSAGE_CHARS - 1] + "…"


def tail(lines: Iterable[str]) -> list[str]:
    """The last OUTPUT_LINES lines, each cut to OUTPUT_LINE_CHARS characters."""
    kept = list(lines)[-OUTPUT_LINES:]
    return [line if len(line) <= OUTPUT_LINE_CHARS else line[:OUTPUT_LINE_CHARS] + "…\n" for line in kept]


def outputs(processes: Iterable[Process]) -> dict[str, list[str]]:
    """Each process's last lines, by process name."""
    return {process.name: tail(process.output) for process in processes}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
