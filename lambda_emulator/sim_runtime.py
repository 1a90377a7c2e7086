"""A simulated function runtime speaking the Runtime API, stdlib only (it must start fast).

The invocation payload (JSON object) says what the "function" does, all optional:
  sleep_ms: int     sleep that long;            log_lines: int   print that many lines to stdout;
  crash: true       exit(1) without answering;  allocate_mb: int touch that much memory;
  cpu_ms: int       burn that much CPU;         hang: true       never answer (timeout);
  error: str        answer through /error with that error type.
The answer is {"ok": true, "echo": <echo>, "worker": <pid of the worker that served it>}.

Like the managed runtimes it also follows the platform's modes:
- AWS_LAMBDA_MAX_CONCURRENCY=N (Lambda Managed Instances): N worker processes, forked after init, each polling
  /next, as awslambdaric does for Python on LMI; a worker that crashes leaves the others serving. Each worker
  connects its stdout and stderr to _LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET when the platform gives one, as
  awslambdaric's workers do, so their lines never mix on one pipe.
- AWS_LAMBDA_LOG_FORMAT=JSON (LoggingConfig LogFormat=JSON): each log line is a JSON object with `timestamp`,
  `level`, `requestId` and `message`, as the managed runtimes write them.
- AWS_LAMBDA_INITIALIZATION_TYPE=snap-start: after init it waits on GET /runtime/restore/next, then runs its
  "after-restore hook" (prints a line; with SIM_RESTORE_ERROR=<type> it reports that error through
  /runtime/restore/error and exits 65, as awslambdaric does when a hook raises).
"""

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from typing import Any, NoReturn

RUNTIME = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/"
BASE = RUNTIME + "invocation/"
JSON_LOGS = os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON"


def log(message: str, request_id: str | None = None) -> None:
    if not JSON_LOGS:
        print(message)
        return
    moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    line: dict[str, Any] = {"timestamp": moment, "level": "INFO", "message": message}
    if request_id:
        line["requestId"] = request_id
    print(json.dumps(line))


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> None:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    with urllib.request.urlopen(request) as response:
        response.read()


def handle(event: dict[str, Any], request_id: str) -> dict[str, Any]:
    for number in range(int(event.get("log_lines", 0))):
        log(f"log line {number} of the simulated function", request_id)
    if event.get("allocate_mb"):
        block = bytearray(int(event["allocate_mb"]) * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
    if event.get("cpu_ms"):
        end = time.process_time() + event["cpu_ms"] / 1000
        while time.process_time() < end:
            pass
    if event.get("sleep_ms"):
        time.sleep(event["sleep_ms"] / 1000)
    if event.get("crash"):
        sys.stdout.flush()
        os._exit(1)
    if event.get("hang"):
        time.sleep(3600)
    sys.stdout.flush()
    return {"ok": True, "echo": event.get("echo"), "worker": os.getpid()}


def restore_hooks() -> None:
    with urllib.request.urlopen(RUNTIME + "restore/next") as response:  # blocks until a restore
        response.read()
    error = os.environ.get("SIM_RESTORE_ERROR")
    if error:
        body = json.dumps({"errorMessage": "simulated after-restore hook failed", "errorType": error}).encode()
        post(RUNTIME + "restore/error", body, {"Lambda-Runtime-Function-Error-Type": error})
        sys.stdout.flush()
        os._exit(65)
    print("after-restore hook ran in", os.getpid(), flush=True)


def serve() -> NoReturn:
    while True:
        with urllib.request.urlopen(BASE + "next") as response:  # no timeout: it may wait for hours
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read() or b"{}")
        try:
            if event.get("error"):
                body = json.dumps({"errorMessage": "simulated", "errorType": event["error"]}).encode()
                post(BASE + request_id + "/error", body, {"Lambda-Runtime-Function-Error-Type": event["error"]})
            else:
                post(BASE + request_id + "/response", json.dumps(handle(event, request_id)).encode())
        except urllib.error.HTTPError as refused:  # e.g. 410 after an LMI timeout: the loop goes on, as awslambdaric's
            print("answer refused:", refused.code, refused.read().decode(), flush=True)


def own_output() -> None:
    """A worker's stdout and stderr become two connections of its own to the platform's log socket (LMI)."""
    path = os.environ.get("_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET")
    if not path:
        return
    for descriptor in (sys.stdout.fileno(), sys.stderr.fileno()):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(path)
            os.dup2(connection.fileno(), descriptor)


def main() -> None:
    log("simulated runtime started")
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
        restore_hooks()
    workers = int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "0"))
    if workers < 1:
        serve()
    sys.stdout.flush()
    children = []
    for _ in range(workers):
        child = os.fork()
        if child == 0:
            own_output()
            serve()
        children.append(child)
    codes = [os.waitpid(child, 0)[1] for child in children]
    sys.exit(1 if any(codes) else 0)


if __name__ == "__main__":
    main()
