"""A Telemetry API extension written the way AWS's published Python sample is (aws-samples/aws-lambda-extensions,
python-example-telemetry-api-extension), with the standard library only (urllib in place of requests).

Its launcher (extensions/sample_telemetry_extension) runs `python3 /opt/sample_telemetry_extension/extension.py`.
It registers with its folder's name, starts a plain HTTPServer bound to sandbox.localdomain:4243 in a thread,
subscribes with schema 2022-07-01 (timeoutMs 1000, maxBytes 256 KiB, maxItems 10000; platform, function,
extension), then loops on /next: on INVOKE it dispatches the batches received so far to DISPATCH_POST_URI, at
SHUTDOWN it waits one second for the last events, dispatches everything and exits. Each dispatched batch is the
listener's POST as received: {"host": its Host header, "events": its JSON array}.
"""

import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from queue import Queue
from typing import Any

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}"
LISTENER_HOST = "0.0.0.0" if os.getenv("AWS_SAM_LOCAL") == "true" else "sandbox.localdomain"
LISTENER_PORT = 4243
DISPATCH_POST_URI = os.getenv("DISPATCH_POST_URI")
DISPATCH_MIN_BATCH_SIZE = int(os.getenv("DISPATCH_MIN_BATCH_SIZE", "1"))
Batches = Queue[dict[str, Any]]


# -- extensions_api_client ---------------------------------------------------------------------------------------
def register_extension(extension_name: str) -> str:
    url = f"{API}/2020-01-01/extension/register"
    print(f"[extension_api_client.register_extension] Registering Extension using {url}", flush=True)
    body = json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode()
    request = urllib.request.Request(url, data=body, headers={"Lambda-Extension-Name": extension_name}, method="POST")
    with urllib.request.urlopen(request) as response:
        extension_id = str(response.headers["Lambda-Extension-Identifier"])
        response.read()
    print(f"[extension_api_client.register_extension] Registration success with extensionId {extension_id}",
          flush=True)  # fmt: skip
    return extension_id


def next_event(extension_id: str) -> dict[str, Any]:
    url = f"{API}/2020-01-01/extension/event/next"
    request = urllib.request.Request(url, headers={"Lambda-Extension-Identifier": extension_id})
    with urllib.request.urlopen(request) as response:  # no timeout: the next event may be hours away
        event: dict[str, Any] = json.loads(response.read())
    return event


# -- telemetry_http_listener -------------------------------------------------------------------------------------
def start_http_listener(queue: Batches) -> str:
    print(f"[telemetry_http_listener.start_http_listener] Starting http listener on {LISTENER_HOST}:{LISTENER_PORT}",
          flush=True)  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.end_headers()
            queue.put({"host": self.headers["Host"], "events": json.loads(body)})

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer((LISTENER_HOST, LISTENER_PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("[telemetry_http_listener.start_http_listener] Started http listener", flush=True)
    return f"http://sandbox.localdomain:{LISTENER_PORT}"


# -- telemetry_api_client ----------------------------------------------------------------------------------------
def subscribe_listener(extension_id: str, listener_url: str) -> None:
    url = f"{API}/2022-07-01/telemetry"
    print(f"[telemetry_api_client.subscribe_listener] Subscribing Extension to receive telemetry data at {url}",
          flush=True)  # fmt: skip
    subscription = {
        "schemaVersion": "2022-07-01",
        "destination": {"protocol": "HTTP", "URI": listener_url},
        "types": ["platform", "function", "extension"],
        "buffering": {"timeoutMs": 1000, "maxBytes": 256 * 1024, "maxItems": 10000},
    }
    headers = {"Content-Type": "application/json", "Lambda-Extension-Identifier": extension_id}
    request = urllib.request.Request(url, data=json.dumps(subscription).encode(), headers=headers, method="PUT")
    with urllib.request.urlopen(request) as response:
        response.read()
    print("[telemetry_api_client.subscribe_listener] Subscription success", flush=True)


# -- telemetry_dispatcher ----------------------------------------------------------------------------------------
def dispatch_telemetry(queue: Batches, force: bool) -> None:
    while (not queue.empty()) and (force or queue.qsize() >= DISPATCH_MIN_BATCH_SIZE):
        batch = queue.get_nowait()
        if DISPATCH_POST_URI:
            headers = {"Content-Type": "application/json"}
            request = urllib.request.Request(DISPATCH_POST_URI, json.dumps(batch).encode(), headers, method="POST")
            with urllib.request.urlopen(request) as response:
                response.read()


# -- extension ---------------------------------------------------------------------------------------------------
def main() -> None:
    print("Starting the Telemetry API Extension", flush=True)
    extension_name = Path(__file__).parent.name
    print(f"Extension Main: Registering the extension using extension name: {extension_name}", flush=True)
    extension_id = register_extension(extension_name)

    print("Extension Main: Starting the http listener which will receive data from Telemetry API", flush=True)
    queue: Batches = Queue()
    listener_url = start_http_listener(queue)

    print("Extension Main: Subscribing the listener to TelemetryAPI", flush=True)
    subscribe_listener(extension_id, listener_url)

    while True:
        print("Extension Main: Next", flush=True)
        event_data = next_event(extension_id)
        if event_data["eventType"] == "INVOKE":
            print("Extension Main: Handle Invoke Event", flush=True)
            dispatch_telemetry(queue, False)
        elif event_data["eventType"] == "SHUTDOWN":
            time.sleep(1)  # wait for the remaining events
            print("Extension Main: Handle Shutdown Event", flush=True)
            dispatch_telemetry(queue, True)
            sys.exit(0)


if __name__ == "__main__":
    main()
