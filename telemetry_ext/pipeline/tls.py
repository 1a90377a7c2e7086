"""TLS to S3: which certificates to trust, and the context, built in the writer's thread before the first PUT.

The trust store, in the AWS SDKs' order: `AWS_CA_BUNDLE`, OpenSSL's `SSL_CERT_FILE` / `SSL_CERT_DIR`, then the
system's own. Amazon Linux (every Lambda runtime) keeps its bundle at /etc/pki/tls/certs/ca-bundle.crt and has
no /etc/ssl; Debian and Ubuntu keep theirs under /etc/ssl/certs.

What it costs: parsing a whole 144-certificate bundle takes 35 ms of CPU on a full core, 0.5 s of the whole
environment's CPU at 128 MB. So:
- a hashed directory (OpenSSL's `c_rehash` layout), where the system has one: OpenSSL reads only the
  certificates a connection needs;
- else, from the system's bundle, first only the roots S3's certificates chain to (Amazon Trust Services'
  roots and the Starfield root that cross-signs them). The system still decides what is trusted: those
  certificates come from its bundle, and if S3's chain does not verify against them (a TLS proxy, say), `widen`
  loads the whole bundle and the request is tried again;
- a bundle the user chose (`AWS_CA_BUNDLE`, `SSL_CERT_FILE`) is loaded whole: it is what they asked for.

The context is the C module's (`_ssl`), configured as Python 3.11's `ssl.create_default_context` configures it,
on every Python: TLS 1.2 or newer, the certificate required and the host name checked (PROTOCOL_TLS_CLIENT's
defaults). (3.13 added VERIFY_X509_STRICT there, which refuses CA certificates without an Authority Key
Identifier, as some private and proxy CAs are; S3's chain passes either way.) `ssl.py` itself is not imported:
its enum classes and `socket.py`, which it imports, cost more CPU at load than the TLS handshake.

The native build bundles its own OpenSSL, whose compiled-in default paths are the build host's: the paths are
always given explicitly, never left to those defaults.
"""

from __future__ import annotations

import _socket
import os

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from typing import Any, Final

    from telemetry_ext.lambda_env import TrustSource

SYSTEM_DIRECTORIES: Final = (
    "/etc/pki/ca-trust/extracted/pem/directory-hash",  # Fedora-family update-ca-trust (newer releases)
    "/etc/ssl/certs",  # Debian, Ubuntu, Alpine
)
SYSTEM_BUNDLES: Final = (
    "/etc/pki/tls/certs/ca-bundle.crt",  # Amazon Linux 2 and 2023, RHEL, Fedora
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # the file the line above links to
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/ssl/cert.pem",  # Alpine, macOS-style layouts
)
_BEGIN: Final = b"-----BEGIN CERTIFICATE-----"
_END: Final = b"-----END CERTIFICATE-----"
S3_ROOT_NAMES: Final = (
    b"Amazon Root CA 1", b"Amazon Root CA 2", b"Amazon Root CA 3", b"Amazon Root CA 4",
    b"Starfield Services Root Certificate Authority - G2",
)  # fmt: skip
"""Subjects of the roots S3's certificates chain to (Amazon Trust Services; the Starfield root cross-signs them)."""


class TrustStore(Record):
    def __init__(self, path: str | None, is_directory: bool, origin: str, s3_roots_only: bool = False) -> None:
        self.path = path
        self.is_directory = is_directory
        self.origin = origin
        self.s3_roots_only = s3_roots_only
        """Only the roots S3 chains to, picked from the bundle (the system's bundle, until `widen`)."""

    def describe(self) -> str:
        kind = "directory" if self.is_directory else "bundle"
        narrowed = ", S3's roots from it" if self.s3_roots_only else ""
        return f"{self.path} ({self.origin} {kind}{narrowed})" if self.path else self.origin


def find_trust_store(source: TrustSource) -> TrustStore:
    if source.path is not None:
        return TrustStore(source.path, source.is_directory, source.variable or "configured")
    for directory in SYSTEM_DIRECTORIES:
        if _is_hashed_directory(directory):
            return TrustStore(directory, True, "the system's")
    for bundle in SYSTEM_BUNDLES:
        if os.path.isfile(bundle):
            return TrustStore(bundle, False, "the system's", s3_roots_only=True)
    return TrustStore(None, False, "OpenSSL's default paths (no known CA bundle exists here)")


def _is_hashed_directory(path: str) -> bool:
    """OpenSSL's c_rehash layout: names of 8 hex digits, a dot and a number."""
    try:
        names = os.listdir(path)
    except OSError:
        return False
    hexdigits = frozenset("0123456789abcdef")
    return any(len(n) > 9 and n[8] == "." and set(n[:8]) <= hexdigits and n[9:].isdigit() for n in names)


def client_context(store: TrustStore) -> Any:
    """A verifying TLS client context (`_ssl._SSLContext`) over `store`. CPU-bound: built in the writer's
    thread."""
    import _ssl

    context = _ssl._SSLContext(_ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, host names checked, TLS 1.2+
    if store.path is None:
        context.set_default_verify_paths()
    elif store.is_directory:
        context.load_verify_locations(None, store.path)
    elif store.s3_roots_only and (roots := s3_roots(store.path)):
        context.load_verify_locations(None, None, roots)
    else:
        context.load_verify_locations(store.path)
    return context


def s3_roots(bundle: str) -> bytes:
    """The certificates of `bundle` (PEM) whose subject is one of S3's roots, as concatenated DER (a root's issuer
    is itself, so the name anywhere in the certificate is its subject)."""
    import binascii

    with open(bundle, "rb") as handle:
        text = handle.read()
    picked = []
    for block in text.split(_BEGIN)[1:]:
        der = binascii.a2b_base64(block.split(_END, 1)[0])  # line breaks between base64 lines are skipped
        if any(name in der for name in S3_ROOT_NAMES):
            picked.append(der)
    return b"".join(picked)


class TlsStream:
    """One TLS session over a connected socket (`_ssl._SSLSocket`, as `ssl.SSLSocket` drives it): the end of the
    stream, with or without the peer's close_notify, reads as b"" (ssl's `suppress_ragged_eofs`)."""

    __slots__ = ("_eof_errors", "_session")

    def __init__(self, session: Any, eof_errors: tuple[type[BaseException], ...]) -> None:
        self._session = session
        self._eof_errors = eof_errors

    def do_handshake(self) -> None:
        self._session.do_handshake()

    def read(self, size: int) -> bytes:
        try:
            data: bytes = self._session.read(size)
        except self._eof_errors:
            return b""
        return data

    def write(self, data: bytes) -> int:
        written: int = self._session.write(data)
        return written


class TlsContext:
    """The context, built once (in the writer's thread, before the first PUT); `wrap` starts a session."""

    def __init__(self, source: TrustSource) -> None:
        self._source = source
        self._store: TrustStore | None = None
        self._context: Any = None

    @property
    def store(self) -> TrustStore:
        if self._store is None:
            self._store = find_trust_store(self._source)
        return self._store

    def prepare(self) -> None:
        if self._context is None:
            self._context = client_context(self.store)

    def widen(self) -> bool:
        """S3's chain did not verify against S3's roots alone: use the whole bundle. False if it already was."""
        if not self.store.s3_roots_only:
            return False
        self._store = self.store.replace(s3_roots_only=False)
        self._context = None
        return True

    def wrap(self, sock: _socket.socket, server_hostname: str) -> TlsStream:
        import _ssl

        self.prepare()
        session = self._context._wrap_socket(sock, False, server_hostname)
        return TlsStream(session, (_ssl.SSLZeroReturnError, _ssl.SSLEOFError))
