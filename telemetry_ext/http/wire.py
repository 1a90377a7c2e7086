"""HTTP/1.1 framing shared by the client and the server, without I/O (RFC 9112): the bytes of a connection go into
a `bytearray`, and heads and bodies are taken from it as they complete. Whoever owns the socket (the telemetry
listener's connections on the event loop, the blocking client in the writer's thread) feeds the buffer; nothing
here reads a socket, so both kinds of I/O share one parser.

A response that arrives early (an S3 error sent before the request body was read, then a reset) stays in the
buffer: the client reads it from there instead of reporting the reset.
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

HEAD_LIMIT: Final = 65_536
_HEAD_END: Final = b"\r\n\r\n"
_CRLF: Final = b"\r\n"


class HttpError(Exception):
    """The transport failed: refused, reset, closed early, timed out, or not HTTP."""


class CertificateError(HttpError):
    """The server's TLS certificate could not be verified against the trust store."""


def take_head(buffer: bytearray) -> bytes | None:
    """The next message's head (up to and including the empty line), removed from `buffer`; None until it is
    complete. ValueError past HEAD_LIMIT bytes without one."""
    end = buffer.find(_HEAD_END)
    if end < 0:
        if len(buffer) > HEAD_LIMIT:
            raise ValueError(f"no end of head within {HEAD_LIMIT} bytes")
        return None
    head = bytes(buffer[: end + 4])
    del buffer[: end + 4]
    return head


def parse_head(head: bytes) -> tuple[list[str], dict[str, str]]:
    """The start line's parts and the headers (names lower-cased; repeated fields joined with commas)."""
    start, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ValueError(f"malformed header line {line[:60]!r}")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return start.split(" ", 2), headers


def is_chunked(headers: Mapping[str, str]) -> bool:
    return headers.get("transfer-encoding", "").lower().rsplit(",", 1)[-1].strip() == "chunked"


def content_length(headers: Mapping[str, str]) -> int | None:
    raw = headers.get("content-length")
    if raw is None:
        return None
    values = {v.strip() for v in raw.split(",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise ValueError(f"bad Content-Length {raw!r}")
    return int(values.pop())


class Framing:
    """What a head says about its message: the start line's parts, and the fields that frame the body and the
    connection (RFC 9112 §6, §9.6; RFC 9110 §10.1.1). The listener and /next read every message's head this way,
    looking each field up in the lower-cased head (`find`) rather than splitting it field by field: these are the
    only fields they act on, and this is the path every invoke takes."""

    __slots__ = ("chunked", "connection", "expect_continue", "length", "start")

    def __init__(self, head: bytes) -> None:
        line_end = head.find(_CRLF)
        self.start = head[:line_end].decode("latin-1").split(" ", 2)
        fields = head[line_end:].lower()  # each field name follows a CRLF
        length = _field(fields, b"\r\ncontent-length:")
        if length is None or length.isdigit():
            self.length = None if length is None else int(length)
        else:  # repeated (equal values may stand; differing ones are refused) or not a number
            self.length = content_length({"content-length": length})
        encoding = _field(fields, b"\r\ntransfer-encoding:")
        self.chunked = encoding is not None and encoding.rsplit(",", 1)[-1].strip() == "chunked"
        self.expect_continue = _field(fields, b"\r\nexpect:") == "100-continue"
        self.connection = _field(fields, b"\r\nconnection:") or ""

    def keep_alive(self) -> bool:
        """Whether the connection stays open after this message, by its version and `Connection` field."""
        tokens = {token.strip() for token in self.connection.split(",")}
        return "keep-alive" in tokens if self.start[-1] == "HTTP/1.0" else "close" not in tokens


def _field(fields: bytes, name: bytes) -> str | None:
    """The value of field `name` (b"\\r\\nname:") in lower-cased `fields`, repeated ones joined with commas."""
    at = fields.find(name)
    if at < 0:
        return None
    values = []
    while at >= 0:
        at += len(name)
        end = fields.find(_CRLF, at)
        values.append(fields[at:end].strip())
        at = fields.find(name, end)
    return b", ".join(values).decode("latin-1")


class Body:
    """One message's body as the head frames it: chunked (trailer fields read and dropped), Content-Length, or,
    for a response with neither, everything until the peer closes (`until_close`); a request with neither has
    none. Past `cap` bytes the rest is read and thrown away (`over_cap`), so the connection stays usable."""

    __slots__ = ("_chunk_left", "_left", "_mode", "_parts", "_size", "cap", "over_cap")

    def __init__(self, framing: Framing | Mapping[str, str], *, until_close: bool, cap: int | None = None) -> None:
        self.cap = cap
        self.over_cap = False
        self._parts: list[bytes] = []
        self._size = 0
        self._chunk_left = -1
        """Chunked: bytes left of the current chunk (and its CRLF); -1 while a size line is expected."""
        if isinstance(framing, Framing):
            length, chunked = framing.length, framing.chunked
        else:
            length, chunked = content_length(framing), is_chunked(framing)
        if chunked:
            self._mode, self._left = "chunked", 0
        elif length is not None:
            self._mode, self._left = "length", length
        else:
            self._mode, self._left = ("close" if until_close else "length"), 0

    def take(self, buffer: bytearray, eof: bool) -> bool:
        """Move what `buffer` holds of the body out of it; True once the body is complete. HttpError if the peer
        closed (`eof`) before then."""
        if self._mode == "length":
            done = self._take_length(buffer)
        elif self._mode == "chunked":
            done = self._take_chunked(buffer)
        else:
            self._keep(bytes(buffer))
            buffer.clear()
            done = eof
        if not done and eof:
            raise HttpError("connection closed by the peer in the middle of a message")
        return done

    @property
    def value(self) -> bytes:
        return b"".join(self._parts)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self.cap is not None and self._size > self.cap:
            self.over_cap = True
            self._parts.clear()
        elif data:
            self._parts.append(data)

    def _take_length(self, buffer: bytearray) -> bool:
        if self._left:
            piece = bytes(buffer[: self._left])
            del buffer[: len(piece)]
            self._left -= len(piece)
            self._keep(piece)
        return self._left == 0

    def _take_chunked(self, buffer: bytearray) -> bool:
        while True:
            if self._chunk_left > 0:  # chunk data, then its CRLF (counted in _chunk_left)
                data_left = self._chunk_left - 2
                if data_left > 0:
                    piece = bytes(buffer[:data_left])
                    del buffer[: len(piece)]
                    self._chunk_left -= len(piece)
                    self._keep(piece)
                    if self._chunk_left > 2:
                        return False
                if len(buffer) < 2:
                    return False
                if buffer[:2] != _CRLF:
                    raise ValueError("chunk not followed by CRLF")
                del buffer[:2]
                self._chunk_left = -1
            elif self._chunk_left == -1:  # a size line
                end = buffer.find(_CRLF)
                if end < 0:
                    return False
                size = int(bytes(buffer[:end]).split(b";", 1)[0].strip(), 16)  # extensions after ";" ignored
                del buffer[: end + 2]
                self._chunk_left = size + 2 if size else 0
            else:  # the last chunk came: trailer fields, up to the empty line
                end = buffer.find(_CRLF)
                if end < 0:
                    return False
                del buffer[: end + 2]
                if end == 0:
                    return True
