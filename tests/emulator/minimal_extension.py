#!/usr/bin/env python3
"""A minimal external extension, stdlib only (no telemetry_ext): it records what it is sent.

Environment: MINIMAL_OUT (a file: one JSON line per lifecycle event or telemetry batch),
MINIMAL_MODE ("normal"; "ignore-shutdown": never exits; "busy": spins a CPU loop in a thread; "crash-on-invoke";
"crash-at-init-once": exits 3 with a line on stderr the first time, /tmp/minimal-crashed says it did;
"init-error": reports Extension.ConfigInvalid to /extension/init/error, then exits 1; "no-next": never calls
/next),
MINIMAL_EVENTS (registered events, comma-separated; default INVOKE,SHUTDOWN),
MINIMAL_SCHEMA (Telemetry API schemaVersion; default 2022-12-13),
MINIMAL_PROBE (host:port: a TCP connection opened at init and tried again at every event, to see it cut),
MINIMAL_CREDENTIALS ("1": fetch container credentials at init and at every event).
Its listener binds to what sandbox.localdomain resolves to (127.0.0.1 where the name does not resolve), as a
published extension binds to that name; it records where it listens and each delivery's Host header.
"""

import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(sys.argv[0])
OUT = os.environ["MINIMAL_OUT"]
MODE = os.environ.get("MINIMAL_MODE", "normal")
EVENTS = os.environ.get("MINIMAL_EVENTS", "INVOKE,SHUTDOWN").split(",")
SCHEMA = os.environ.get("MINIMAL_SCHEMA", "2022-12-13")
SEEN_VARIABLES = (
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_LAMBDA_LOG_STREAM_NAME",
)
PROBE_HOST, _, PROBE_PORT = os.environ.get("MINIMAL_PROBE", "").rpartition(":")
PROBE = (PROBE_HOST, int(PROBE_PORT)) if PROBE_PORT else None
LOCK = threading.Lock()


def record(kind: str, payload: object) -> None:
    with LOCK, open(OUT, "a") as out:
        out.write(json.dumps({"kind": kind, "payload": payload, "at": time.monotonic(), "wall": time.time()}) + "\n")


def call(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[Any, bytes]:
    request = urllib.request.Request(API + path, data=body, headers=headers or {}, method=method)
    with urllib.request.urlopen(request) as response:
        return response.headers, response.read()


class Listener(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()
        record("telemetry_host", self.headers["Host"])
        record("telemetry", json.loads(body))

    def log_message(self, format: str, *args: Any) -> None:
        pass


def fetch_credentials() -> None:
    uri, token = (
        os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    )
    try:
        with urllib.request.urlopen(
            urllib.request.Request(uri or "", headers={"Authorization": token or ""})
        ) as response:
            record("credentials", {"status": response.status, "body": json.loads(response.read())})
    except (urllib.error.URLError, ValueError) as error:
        record("credentials", {"status": getattr(error, "code", None), "error": str(error)})


def probe(connection: socket.socket | None) -> socket.socket | None:
    """Use the connection; when it is dead, say how and open a new one (the next restore should cut it too)."""
    if connection is None:
        return None
    try:
        connection.sendall(b"ping\n")
        record("probe", {"reply": connection.recv(16).decode()})
        return connection
    except OSError as error:
        record("probe", {"error": error.errno, "text": str(error)})
        connection.close()
        assert PROBE is not None
        return socket.create_connection(PROBE)


def fail_at_init(ident: dict[str, str]) -> None:
    """The init failures of MINIMAL_MODE."""
    if MODE == "init-error":
        body = {"errorMessage": "MINIMAL_SETTING must be set", "errorType": "Extension.ConfigInvalid"}
        headers = {**ident, "Lambda-Extension-Function-Error-Type": "Extension.ConfigInvalid"}
        call("POST", "/2020-01-01/extension/init/error", json.dumps(body).encode(), headers)
        sys.exit(1)
    if MODE == "no-next":
        time.sleep(3600)


def main() -> None:
    record("env", {name: os.environ.get(name) for name in SEEN_VARIABLES})
    if MODE == "crash-at-init-once" and not os.path.exists("/tmp/minimal-crashed"):
        open("/tmp/minimal-crashed", "w").close()
        print("minimal: the configuration is not there yet", file=sys.stderr, flush=True)
        sys.exit(3)
    try:
        headers, _ = call(
            "POST",
            "/2020-01-01/extension/register",
            json.dumps({"events": EVENTS}).encode(),
            {"Lambda-Extension-Name": NAME},
        )
    except urllib.error.HTTPError as refused:
        record("register_error", {"status": refused.code, "body": json.loads(refused.read())})
        sys.exit(1)
    ident = {"Lambda-Extension-Identifier": headers["Lambda-Extension-Identifier"]}
    fail_at_init(ident)
    try:
        address = socket.gethostbyname("sandbox.localdomain")
    except OSError:
        address = "127.0.0.1"
    server = http.server.ThreadingHTTPServer((address, 0), Listener)
    port = server.server_address[1]
    record("listening", {"address": address, "port": port})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    subscription = {
        "schemaVersion": SCHEMA,
        "types": ["platform", "function", "extension"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
        "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{port}"},
    }
    try:
        call("PUT", "/2022-07-01/telemetry", json.dumps(subscription).encode(), ident)
    except urllib.error.HTTPError as refused:
        record("subscribe_error", {"status": refused.code, "body": json.loads(refused.read())})
    connection = socket.create_connection(PROBE) if PROBE else None
    connection = probe(connection)
    if os.environ.get("MINIMAL_CREDENTIALS"):
        fetch_credentials()
    print("minimal extension ready", flush=True)
    if MODE == "busy":
        threading.Thread(target=spin, daemon=True).start()
    while True:
        _, body = call("GET", "/2020-01-01/extension/event/next", headers=ident)
        event = json.loads(body)
        record("event", event)
        connection = probe(connection)
        if os.environ.get("MINIMAL_CREDENTIALS"):
            fetch_credentials()
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
