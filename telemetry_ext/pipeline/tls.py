"""TLS to S3: which certificates to trust, and the context built off the event loop, before it is needed.

The trust store, in the AWS SDKs' order: `AWS_CA_BUNDLE`, OpenSSL's `SSL_CERT_FILE` / `SSL_CERT_DIR`, then the
system's own. Amazon Linux (every Lambda runtime) keeps its bundle at /etc/pki/tls/certs/ca-bundle.crt and has
no /etc/ssl; Debian and Ubuntu keep theirs under /etc/ssl/certs.

What it costs: parsing a whole 144-certificate bundle takes 35 ms of CPU on a full core, 0.5 s of the whole
environment's CPU at 128 MB (measured: the first invoke's duration rose by ~260 ms when it was built then). So:
- a hashed directory (OpenSSL's `c_rehash` layout), where the system has one: OpenSSL reads only the
  certificates a connection needs (1.1 ms);
- else, from the system's bundle, first only the roots S3's certificates chain to (Amazon Trust Services'
  roots and the Starfield root that cross-signs them): 4 ms to pick and load. The system still decides what is
  trusted: those certificates come from its bundle, and if S3's chain does not verify against them (a TLS
  proxy, say), `widen` loads the whole bundle and the request is tried again;
- a bundle the user chose (`AWS_CA_BUNDLE`, `SSL_CERT_FILE`) is loaded whole: it is what they asked for.
The context is built in a worker thread, started once /next is on the wire (`TlsContext.prepare`), so neither
the event loop nor the function's /next waits on it.

The native build bundles its own OpenSSL, whose compiled-in default paths are the build host's: the paths are
always given explicitly, never left to those defaults.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.record import Record

if TYPE_CHECKING:
    import ssl
    from typing import Final

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
_HASHED: Final = re.compile(r"^[0-9a-f]{8}\.[0-9]+$")
_PEM: Final = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n(.*?)-----END CERTIFICATE-----", re.S)
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
    try:
        return any(_HASHED.match(name) for name in os.listdir(path))
    except OSError:
        return False


def client_context(store: TrustStore) -> ssl.SSLContext:
    """A verifying TLS client context (TLS 1.2+, host names checked) over `store`. CPU-bound: run in a thread."""
    # asyncio's TLS transport: the native build defers its import from start-up to the first TLS connection
    # (build/nuitka-package.config.yml), which at 128 MB made a first PUT at SHUTDOWN ~50 ms longer; here it is
    # loaded off the loop, with the context (already imported in the interpreted flavour: no cost there).
    import asyncio.sslproto  # noqa: F401
    import ssl

    if store.path is None:
        return ssl.create_default_context()
    if store.is_directory:
        return ssl.create_default_context(capath=store.path)
    if store.s3_roots_only:
        roots = s3_roots(store.path)
        if roots:
            return ssl.create_default_context(cadata=roots)
    return ssl.create_default_context(cafile=store.path)


def s3_roots(bundle: str) -> str:
    """The PEM certificates of `bundle` whose subject is one of S3's roots (a root's issuer is itself, so the
    name anywhere in the certificate is its subject)."""
    with open(bundle, "rb") as handle:
        blocks = _PEM.findall(handle.read())
    picked = []
    for block in blocks:
        der = base64.b64decode(block)
        if any(name in der for name in S3_ROOT_NAMES):
            picked.append("-----BEGIN CERTIFICATE-----\n" + block.decode("ascii") + "-----END CERTIFICATE-----\n")
    return "".join(picked)


class TlsContext:
    """The context, built once in a worker thread; `prepare` starts that early, `get` waits for it."""

    def __init__(self, source: TrustSource) -> None:
        self._source = source
        self._store: TrustStore | None = None
        self._building: asyncio.Future[ssl.SSLContext] | None = None

    @property
    def store(self) -> TrustStore:
        if self._store is None:
            self._store = find_trust_store(self._source)
        return self._store

    def prepare(self) -> None:
        if self._building is None:
            loop = asyncio.get_running_loop()
            self._building = loop.run_in_executor(None, client_context, self.store)

    def widen(self) -> bool:
        """S3's chain did not verify against S3's roots alone: use the whole bundle. False if it already was."""
        if not self.store.s3_roots_only:
            return False
        self._store = self.store.replace(s3_roots_only=False)
        self._building = None
        return True

    async def get(self) -> ssl.SSLContext:
        self.prepare()
        assert self._building is not None
        return await asyncio.shield(self._building)
