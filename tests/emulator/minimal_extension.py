#!/usr/bin/env python3
"""A minimal external extension, stdlib only (no telemetry_ext): it records what it is sent.

Environment: MINIMAL_OUT (a file: one JSON line per lifecycle event or telemetry batch),
MINIMAL_MODE ("normal"; "ignore-shutdown": never exits; "busy": spins a CPU loop in a thread; "crash-on-invoke").
"""

import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.request
from typing import Any

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(sys.argv[0])
OUT = os.environ["MINIMAL_OUT"]
MODE = os.environ.get("MINIMAL_MODE", "normal")
LOCK = threading.Lock()


def record(kind: str, payload: object) -> None:
    with LOCK, open(OUT, "a") as out:
        out.write(json.dumps({"kind": kind, "payload": payload, "at": time.monotonic()}) + "\n")


def call(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[Any, bytes]:
    request = urllib.request.Request(API + path, data=body, headers=headers or {}, method=method)
    with urllib.request.urlopen(request) as response:
        return response.headers, response.read()


class Listener(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()
        record("telemetry", json.loads(body))

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    headers, _ = call(
        "POST",
        "/2020-01-01/extension/register",
        json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
        {"Lambda-Extension-Name": NAME},
    )
    ident = {"Lambda-Extension-Identifier": headers["Lambda-Extension-Identifier"]}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    subscription = {
        "schemaVersion": "2022-12-13",
        "types": ["platform", "function", "extension"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
        "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{port}"},
    }
    call("PUT", "/2022-07-01/telemetry", json.dumps(subscription).encode(), ident)
    print("minimal extension ready", flush=True)
    if MODE == "busy":
        threading.Thread(target=spin, daemon=True).start()
    while True:
        _, body = call("GET", "/2020-01-01/extension/event/next", headers=ident)
        event = json.loads(body)
        record("event", event)
        if event["eventType"] == "INVOKE" and MODE == "crash-on-invoke":
            os._exit(3)
        if event["eventType"] == "SHUTDOWN":
            if MODE == "ignore-shutdown":
                time.sleep(3600)
            time.sleep(0.1)  # give Lambda a moment to deliver the last batch
            return


def spin() -> None:
    while True:
        pass


if __name__ == "__main__":
    main()
