"""The progress line of the emulator's CLI and of the comparison: in place on a terminal, once in a log."""

from __future__ import annotations

import io

from lambda_emulator.cli.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_a_log_file_only_the_final_state_is_written_as_one_line() -> None:
    # GIVEN a log file (not a terminal) WHEN three invokes report progress
    log = io.StringIO()
    for done in (1, 2, 3):
        progress(log, f"  invokes {done}/3", final=done == 3)
    # THEN it holds one plain line, no carriage returns
    assert log.getvalue() == "  invokes 3/3\n"


def test_on_a_terminal_the_line_is_rewritten_in_place_and_ended_once() -> None:
    # GIVEN a terminal WHEN three invokes report progress
    terminal = Terminal()
    for done in (1, 2, 3):
        progress(terminal, f"  invokes {done}/3", final=done == 3)
    # THEN each state overwrites the last, and the final one ends the line
    assert terminal.getvalue() == "\r  invokes 1/3\r  invokes 2/3\r  invokes 3/3\n"
