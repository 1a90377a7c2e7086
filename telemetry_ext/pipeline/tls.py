"""TLS to S3: which certificates to trust, and the context built off the event loop, before it is needed.

The trust store, in the AWS SDKs' order: `AWS_CA_BUNDLE`, OpenSSL's `SSL_CERT_FILE` / `SSL_CERT_DIR`, then the
system's own. Amazon Linux (every Lambda runtime) keeps its bundle at /etc/pki/tls/certs/ca-bundle.crt and has
no /etc/ssl; Debian and Ubuntu keep theirs under /etc/ssl/certs. A hashed directory (OpenSSL's `c_rehash`
layout) is preferred where there is one: OpenSSL then reads only the certificates a connection needs (measured:
1.1 ms to build the context, against 35 ms to parse a 144-certificate bundle on a full core, which is 0.5 s of
wall time at 128 MB). The context is built in a worker thread (OpenSSL releases the GIL while it parses), started
early (`TlsContext.prepare`), so the event loop never stalls on it.

The native build bundles its own OpenSSL, whose compiled-in default paths are the build host's: the paths are
always given explicitly, never left to those defaults.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from telemetry_ext.lambda_env import TrustSource

if TYPE_CHECKING:
    import ssl

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


@dataclass(frozen=True, slots=True)
class TrustStore:
    path: str | None
    is_directory: bool
    origin: str

    def describe(self) -> str:
        kind = "directory" if self.is_directory else "bundle"
        return f"{self.path} ({self.origin} {kind})" if self.path else self.origin


def find_trust_store(source: TrustSource) -> TrustStore:
    if source.path is not None:
        return TrustStore(source.path, source.is_directory, source.variable or "configured")
    for directory in SYSTEM_DIRECTORIES:
        if _is_hashed_directory(directory):
            return TrustStore(directory, True, "the system's")
    for bundle in SYSTEM_BUNDLES:
        if os.path.isfile(bundle):
            return TrustStore(bundle, False, "the system's")
    return TrustStore(None, False, "OpenSSL's default paths (no known CA bundle exists here)")


def _is_hashed_directory(path: str) -> bool:
    try:
        return any(_HASHED.match(name) for name in os.listdir(path))
    except OSError:
        return False


def client_context(store: TrustStore) -> ssl.SSLContext:
    """A verifying TLS client context (TLS 1.2+, host names checked) over `store`. CPU-bound: run in a thread."""
    import ssl

    if store.path is None:
        return ssl.create_default_context()
    if store.is_directory:
        return ssl.create_default_context(capath=store.path)
    return ssl.create_default_context(cafile=store.path)


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

    async def get(self) -> ssl.SSLContext:
        self.prepare()
        assert self._building is not None
        return await asyncio.shield(self._building)
