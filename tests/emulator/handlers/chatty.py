"""A handler that prints many lines per call, each naming its worker and its number: on Lambda Managed Instances
several workers print at once, and each of their lines must reach the Telemetry API whole."""

import os
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    lines = int(event.get("lines", 100))
    for number in range(lines):
        print(f"worker {os.getpid()} request {context.aws_request_id} line {number:04d} " + "x" * 64)
    return {"lines": lines}
