"""A simulated function runtime speaking the Runtime API, stdlib only (it must start fast).

The invocation payload (JSON object) says what the "function" does, all optional:
  sleep_ms: int     sleep that long;            log_lines: int   print that many lines to stdout;
  crash: true       exit(1) without answering;  allocate_mb: int touch that much memory;
  cpu_ms: int       burn that much CPU;         hang: true       never answer (timeout);
  error: str        answer through /error with that error type.
"""

import json
import os
import sys
import time
import urllib.request
from typing import Any

BASE = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> None:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    with urllib.request.urlopen(request) as response:
        response.read()


def handle(event: dict[str, Any]) -> dict[str, Any]:
    for number in range(int(event.get("log_lines", 0))):
        print("log line", number, "of the simulated function")
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
    return {"ok": True, "echo": event.get("echo")}


def main() -> None:
    print("simulated runtime started")
    while True:
        with urllib.request.urlopen(BASE + "next") as response:  # no timeout: it may wait for hours
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read() or b"{}")
        if event.get("error"):
            body = json.dumps({"errorMessage": "simulated", "errorType": event["error"]}).encode()
            post(BASE + request_id + "/error", body, {"Lambda-Runtime-Function-Error-Type": event["error"]})
            continue
        post(BASE + request_id + "/response", json.dumps(handle(event)).encode())


if __name__ == "__main__":
    main()
