"""SHA-256 and HMAC-SHA256 from the interpreter's own C implementation (`_sha2`, `_sha256` before 3.12).

hashlib and hmac would load OpenSSL's libcrypto and build their tables for every algorithm (about 2 ms of CPU,
once, in a PUT's path); S3 needs one digest for a body of a few KiB to a few MiB and five HMACs per request.
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final

try:
    from _sha2 import sha256 as _new  # type: ignore[import-not-found,unused-ignore]  # CPython 3.12 and later
except ImportError:
    from _sha256 import sha256 as _new  # type: ignore[import-not-found,no-redef,unused-ignore]  # CPython 3.11

sha256: Final[Callable[[bytes], Any]] = _new
_BLOCK: Final = 64
_INNER: Final = bytes(x ^ 0x36 for x in range(256))
_OUTER: Final = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """RFC 2104 with SHA-256."""
    if len(key) > _BLOCK:
        key = _new(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = _new(key.translate(_INNER) + message).digest()
    digest: bytes = _new(key.translate(_OUTER) + inner).digest()
    return digest
