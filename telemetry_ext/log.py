"""The extension's log lines: `telemetry-ext LEVEL message` on stderr, a handful in a process's life and never one
per event (whatever the extension prints comes back to it as `extension` telemetry).

Not the logging package: these few lines do not need it, and importing it (with string, traceback's formatting)
was a tenth of what the native build's start-up still imports once the rest was trimmed. The native build leaves
it out altogether: there, asyncio and concurrent.futures report through `library_logger`
(build/nuitka-package.config.yml). In the interpreted flavour asyncio imports it anyway; `route_library_logs`
gives its lines the same form.
"""

from __future__ import annotations

import sys
from types import TracebackType

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Final

DEBUG: Final = 10
INFO: Final = 20
WARNING: Final = 30
ERROR: Final = 40
CRITICAL: Final = 50
LEVELS: Final = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR, "critical": CRITICAL}
_NAMES: Final = {number: name.upper() for name, number in LEVELS.items()}
_threshold = INFO

ExcInfo = bool | BaseException | tuple[type[BaseException], BaseException, TracebackType | None] | None


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


class LibraryLogger:
    """The part of `logging.Logger` that asyncio and concurrent.futures call, writing lines of the same form at
    the level logging's root had here (INFO). Only the native build uses it (build/nuitka-package.config.yml)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def isEnabledFor(self, level: int) -> bool:
        return level >= INFO

    def log(self, level: int, message: str, *args: object, exc_info: ExcInfo = None, **_: object) -> None:
        if level >= INFO:
            write(level, message, args, exc_info)

    def debug(self, message: str, *args: object, **kwargs: object) -> None:
        pass  # below INFO

    def info(self, message: str, *args: object, exc_info: ExcInfo = None, **_: object) -> None:
        write(INFO, message, args, exc_info)

    def warning(self, message: str, *args: object, exc_info: ExcInfo = None, **_: object) -> None:
        write(WARNING, message, args, exc_info)

    def error(self, message: str, *args: object, exc_info: ExcInfo = None, **_: object) -> None:
        write(ERROR, message, args, exc_info)

    def exception(self, message: str, *args: object, exc_info: ExcInfo = True, **_: object) -> None:
        write(ERROR, message, args, exc_info)

    def critical(self, message: str, *args: object, exc_info: ExcInfo = None, **_: object) -> None:
        write(CRITICAL, message, args, exc_info)


def library_logger(name: str) -> LibraryLogger:
    return LibraryLogger(name)


def route_library_logs() -> None:
    """Where asyncio imported the logging package (the interpreted flavour), its lines take this module's form.
    Looked up, not imported: the native build has no logging package, and asyncio logs through
    `library_logger` there."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="telemetry-ext %(levelname)s %(message)s")
