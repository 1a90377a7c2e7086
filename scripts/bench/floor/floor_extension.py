"""The floor of a Python extension: what receiving Lambda's telemetry costs with nothing else (the comparison's
`floor` variant, issue 21's "minimal receiver").

It registers, subscribes, serves the Telemetry API with blocking sockets in a thread of its own (every POST
answered 200 and its body kept), and waits on /next with blocking I/O in the main thread. No asyncio, no parsing
of events, no ring buffer, no S3: it writes nothing. Run by scripts/bench/floor/extensions/floor-probe (the
interpreter the comparison runs on, -S). A benchmark's reference, never shipped.
"""

import json
import os
import socket
import threading

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PORT = int(os.environ.get("FLOOR_LISTENER_PORT", "9072"))
bodies: list[bytes] = []


def call(
    connection: socket.socket, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[bytes, bytes]:
    """One request on the kept-alive API connection; the response's head and body (Content-Length framed)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {API}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += connection.recv(65536)
    return head, rest


def serve(client: socket.socket) -> None:
    data = b""
    while True:
        chunk = client.recv(262144)
        if not chunk:
            return
        data += chunk
        while b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length")), 0)  # fmt: skip
            if len(rest) < length:
                break
            bodies.append(rest[:length])
            data = rest[length:]
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def listen() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", PORT))
    server.listen(16)
    while True:
        client, _ = server.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


def main() -> None:
    host, _, port = API.rpartition(":")
    connection = socket.create_connection((host, int(port)))
    name = os.environ.get("LAMBDA_EXTENSION_NAME", "floor-probe")
    head, _ = call(connection, "POST", "/2020-01-01/extension/register", {"Lambda-Extension-Name": name},
                   json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode())  # fmt: skip
    identifier = next(line.split(":", 1)[1].strip() for line in head.decode("latin-1").split("\r\n")
                      if line.lower().startswith("lambda-extension-identifier"))  # fmt: skip
    threading.Thread(target=listen, daemon=True).start()
    subscription = {"schemaVersion": "2022-12-13", "types": ["platform", "function", "extension"],
                    "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
                    "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{PORT}"}}  # fmt: skip
    call(connection, "PUT", "/2022-07-01/telemetry", {"Lambda-Extension-Identifier": identifier},
         json.dumps(subscription).encode())  # fmt: skip
    while True:
        _, body = call(connection, "GET", "/2020-01-01/extension/event/next",
                       {"Lambda-Extension-Identifier": identifier})  # fmt: skip
        event = json.loads(body)
        if event.get("eventType") == "SHUTDOWN":
            os._exit(0)


if __name__ == "__main__":
    main()
