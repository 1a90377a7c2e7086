"""The HTTP/1.1 the extension speaks: `client` (blocking: the Lambda API's calls during init, S3 PUTs and the
credentials endpoint in the writer's thread), `server` (the telemetry listener, on the event loop), `wire` (the
framing both share, without I/O). See client.py for why not http.client or aiohttp.
"""

from __future__ import annotations


def host_header(host: str, port: int, *, tls: bool) -> str:
    """The Host header's value: the port only when it is not the scheme's default (what SigV4 signs, too)."""
    default = 443 if tls else 80
    return host if port == default else f"{host}:{port}"
