"""A progress line that reads well on a terminal and in a log file."""

from __future__ import annotations

from typing import TextIO


def progress(stream: TextIO, text: str, final: bool) -> None:
    """On a terminal the line is rewritten in place (`\\r`); in a file or pipe it is written once, when final,
    so a log gets one line per task instead of one endless line of carriage returns."""
    if stream.isatty():
        stream.write(f"\r{text}" + ("\n" if final else ""))
    elif final:
        stream.write(f"{text}\n")
    stream.flush()
