"""The runtime's log socket on Lambda Managed Instances: every connection to it is one stream of output.

A runtime that runs several workers at once cannot share one pipe among them: a worker's line is written in more
than one write (awslambdaric writes the text, then "\\n", each flushed), so the workers' writes interleave on a
shared pipe, merging two lines into one record and leaving a bare "\\n" as another. Lambda Managed Instances gives
the runtime the path of a Unix socket instead (`_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET`, runtime-only; LMI RIE
`rapidcore/env`); each forked worker connects its stdout and its stderr to it (awslambdaric
`lambda_multi_concurrent_utils.py`: `dup2` of the connected socket over fd 1 and 2), and the platform reads each
connection apart, line by line. Entries of different workers still interleave, as the LMI docs say they do; the
lines within them never mix.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

VARIABLE: Final = "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"

OnStream = Callable[[asyncio.StreamReader], Awaitable[None]]


class LogSocket:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._server: asyncio.Server | None = None

    async def open(self, on_stream: OnStream) -> None:
        """Listen at `path` (a socket a previous generation left there is replaced); `on_stream` reads each
        connection to its end."""
        self.path.unlink(missing_ok=True)

        async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await on_stream(reader)
            finally:
                writer.close()

        self._server = await asyncio.start_unix_server(connected, path=str(self.path), limit=1024 * 1024)

    def close(self) -> None:
        """No new connection; the streams already open are read to their end by their readers."""
        if self._server is None:
            return  # closed already: the path may be the next generation's socket by now
        self._server.close()
        self._server = None
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
