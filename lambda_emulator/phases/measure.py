"""The figures each record carries, read from the sandbox: each process's CPU time and peak memory, the
environment's peak memory."""

from __future__ import annotations

import math
from collections.abc import Iterable

from lambda_emulator.sandbox.limits import Sandbox
from lambda_emulator.sandbox.processes import Process
from lambda_emulator.state.measurements import ProcessRecord


def process_record(sandbox: Sandbox, name: str) -> ProcessRecord:
    measured = sandbox.figures(name)
    return ProcessRecord(round(measured.cpu_ms, 3), round(measured.peak_rss_bytes / 2**20, 2))


def process_records(sandbox: Sandbox, processes: Iterable[Process]) -> dict[str, ProcessRecord]:
    return {process.name: process_record(sandbox, process.name) for process in processes}


def max_memory_used_mb(sandbox: Sandbox) -> int:
    return math.ceil(sandbox.max_memory_bytes() / 2**20)
