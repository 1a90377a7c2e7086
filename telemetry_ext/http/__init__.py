"""The HTTP/1.1 the extension speaks: `client` (Lambda API calls, S3 PUTs), `server` (the telemetry listener),
`wire` (framing shared by both). Built on asyncio transports; see client.py for why not aiohttp."""


def host_header(host: str, port: int, *, tls: bool) -> str:
    """The Host header's value: the port only when it is not the scheme's default (what SigV4 signs, too)."""
    default = 443 if tls else 80
    return host if port == default else f"{host}:{port}"
