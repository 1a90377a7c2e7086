"""The extension's log lines: `telemetry-ext LEVEL message` on stderr, a handful in a process's life and never one
per event (whatever the extension prints comes back to it as `extension` telemetry).

Not the logging package: these few lines do not need it, and importing it (with string, traceback's formatting)
is start-up cost; no module the extension imports uses it, and the native build leaves it out altogether.
"""

from __future__ import annotations

import sys

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Final

    ExcInfo = bool | BaseException | tuple[type[BaseException], BaseException, TracebackType | None] | None

DEBUG: Final = 10
INFO: Final = 20
WARNING: Final = 30
ERROR: Final = 40
CRITICAL: Final = 50
LEVELS: Final = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR, "critical": CRITICAL}
_NAMES: Final = {number: name.upper() for name, number in LEVELS.items()}
_threshold = INFO


def set_level(name: str) -> None:
    """The extension's own threshold, from TELEMETRY_EXT_LOG_LEVEL (debug, info, warning, error)."""
    global _threshold
    _threshold = LEVELS[name]


def debug(message: str, *args: object) -> None:
    if _threshold <= DEBUG:
        write(DEBUG, message, args)


def info(message: str, *args: object) -> None:
    if _threshold <= INFO:
        write(INFO, message, args)


def warning(message: str, *args: object) -> None:
    if _threshold <= WARNING:
        write(WARNING, message, args)


def error(message: str, *args: object) -> None:
    if _threshold <= ERROR:
        write(ERROR, message, args)


def exception(message: str, *args: object) -> None:
    """An error line with the traceback of the exception being handled."""
    if _threshold <= ERROR:
        write(ERROR, message, args, exc_info=True)


def write(level: int, message: str, args: tuple[object, ...], exc_info: ExcInfo = None) -> None:
    """One line (and a traceback, as logging formats `exc_info`), %-formatted as logging does."""
    text = message % args if args else message
    trace = _traceback(exc_info)
    sys.stderr.write(f"telemetry-ext {_NAMES.get(level, f'Level {level}')} {text}\n{trace}")


def _traceback(exc_info: ExcInfo) -> str:
    if not exc_info:
        return ""
    if exc_info is True:
        exc_info = sys.exc_info()  # type: ignore[assignment]
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    assert isinstance(exc_info, tuple)
    if exc_info[0] is None:
        return ""
    import traceback  # only with an exception to show

    return "".join(traceback.format_exception(*exc_info))
