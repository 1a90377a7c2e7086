"""URLs as the extension reads and writes them: split (the S3 endpoint override, the container credentials
endpoint) and percent-encoded (S3 keys). Pure.

Not urllib.parse: its import (re, and the module's own tables) costs more CPU at start-up than the few URLs the
extension ever reads.
"""

from __future__ import annotations

from telemetry_ext.record import Record

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


class Url(Record):
    def __init__(self, scheme: str, host: str, port: int, target: str) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
        """The path and query, as a request line carries them ("/" at least)."""


def split_url(url: str) -> Url:
    """`http(s)://host[:port][/path][?query]` (an IPv6 host in brackets); ValueError for anything else."""
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    authority, slash, path = rest.partition("/")
    authority, question, query = authority.partition("?")
    target = "/" + path if slash else "/"
    if question:
        target = "/?" + query
    authority = authority.rpartition("@")[2]  # user information is never sent
    if authority.startswith("["):
        host, _, tail = authority[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port_text = authority.partition(":")
    if not host or (port_text and not port_text.isdigit()):
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    return Url(scheme, host.lower(), port, target)


def quote(text: str, safe: str = "/") -> str:
    """Percent-encode every byte of `text` (UTF-8) outside the unreserved set and `safe` (RFC 3986 §2), as S3
    wants it in both the URL and SigV4's canonical request."""
    keep = _UNRESERVED | frozenset(safe.encode())
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode("utf-8"))
