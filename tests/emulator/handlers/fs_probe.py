"""A handler that reports what the function sees of its execution environment (run by awslambdaric; this
folder is the function's code, /var/task).

Payload: {"write_tmp": TEXT} writes /tmp/fs-probe.txt first; {"crash": true} exits the runtime at once.
Answer: the merged layers' /opt/shared/which-layer.txt, the working directory, LAMBDA_TASK_ROOT, whether /opt
and /var/task can be written, /tmp/fs-probe.txt, and what sandbox.localdomain and sandbox resolve to.
"""

import os
import socket
from pathlib import Path
from typing import Any


def writable(folder: str) -> bool:
    try:
        Path(folder, "fs-probe-write").write_text("x")
    except OSError:
        return False
    return True


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("write_tmp"):
        Path("/tmp/fs-probe.txt").write_text(event["write_tmp"])
    if event.get("crash"):
        os._exit(1)
    layer = Path("/opt/shared/which-layer.txt")
    tmp = Path("/tmp/fs-probe.txt")
    return {
        "layer": layer.read_text() if layer.exists() else None,
        "cwd": os.getcwd(),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "opt_writable": writable("/opt"),
        "task_writable": writable("/var/task"),
        "tmp": tmp.read_text() if tmp.exists() else None,
        "sandbox.localdomain": socket.gethostbyname("sandbox.localdomain"),
        "sandbox": socket.gethostbyname("sandbox"),
    }
