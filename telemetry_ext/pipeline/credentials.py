"""AWS credentials as Lambda gives them, kept fresh (lambda_env.py finds the source).

- Environment keys: the execution role's session, fixed for the life of the environment.
- The container credentials endpoint (SnapStart, Lambda Managed Instances): fetched when first needed, cached,
  refreshed before `Expiration` (5 minutes before, or half their lifetime if that is shorter), and fetched
  again at once when S3 says the token expired or is invalid (`invalidate`), or after a SnapStart restore.
  Request and answer as the AWS SDKs' container provider: `GET <url>` with `Authorization: <token>` (the token
  file, when given, is read at every fetch), JSON `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`.
"""

from __future__ import annotations

import time

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.errors import RetryableSinkError
from telemetry_ext.http.client import Connection
from telemetry_ext.http.wire import HttpError
from telemetry_ext.jsontext import loads
from telemetry_ext.lambda_env import EnvironmentKeys, TrustSource
from telemetry_ext.record import Record
from telemetry_ext.urls import split_url

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final

    from telemetry_ext.lambda_env import ContainerEndpoint, CredentialSource

REFRESH_BEFORE_S: Final = 300.0
FETCH_TIMEOUT_S: Final = 5.0
"""The endpoint answers from the environment itself (loopback): a slower answer is a failed attempt."""


class Credentials(Record):
    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: str | None = None,
        expires_at: float | None = None,
        fetched_at: float = 0.0,
    ) -> None:
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token
        self.expires_at = expires_at
        """Wall-clock seconds; None: they do not expire while the environment lives."""
        self.fetched_at = fetched_at

    def __repr__(self) -> str:
        return f"Credentials(expires_at={self.expires_at!r}, fetched_at={self.fetched_at!r})"  # never the keys


class CredentialsProvider:
    def __init__(
        self, source: CredentialSource, clock: Callable[[], float] = time.time, trust: TrustSource | None = None
    ) -> None:
        self._source = source
        self._trust = trust or TrustSource()
        self._clock = clock
        self._cached: Credentials | None = None
        self._connection: Connection | None = None
        self.fetches = 0

    @property
    def description(self) -> str:
        if isinstance(self._source, EnvironmentKeys):
            return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        return f"the container credentials endpoint {self._source.url}"

    def get(self) -> Credentials:
        if isinstance(self._source, EnvironmentKeys):
            source = self._source
            return Credentials(source.access_key_id, source.secret_access_key, source.session_token)
        if self._cached is None or self._stale(self._cached):
            self._cached = self._fetch(self._source)
        return self._cached

    def invalidate(self) -> None:
        """S3 refused the token (expired or invalid), or a SnapStart restore made it old: fetch anew."""
        self._cached = None
        self.forget_connection()

    def forget_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _stale(self, credentials: Credentials) -> bool:
        if credentials.expires_at is None:
            return False
        lifetime = credentials.expires_at - credentials.fetched_at
        return credentials.expires_at - self._clock() < min(REFRESH_BEFORE_S, lifetime / 2)

    def _fetch(self, source: ContainerEndpoint) -> Credentials:
        url = split_url(source.url)
        headers = {"Accept": "application/json"}
        token = _token(source)
        if token:
            headers["Authorization"] = token
        try:
            response = self._http(url.scheme, url.host, url.port).request(
                "GET", url.target, headers, timeout_s=FETCH_TIMEOUT_S
            )
        except (HttpError, TimeoutError) as error:
            raise RetryableSinkError(f"credentials endpoint {source.url}: {error}") from None
        self.fetches += 1
        if response.status != 200:
            detail = response.body[:200].decode("utf-8", "replace")
            raise RetryableSinkError(f"credentials endpoint {source.url}: HTTP {response.status} {detail}")
        return self._parse(source.url, response.body)

    def _parse(self, url: str, body: bytes) -> Credentials:
        from datetime import datetime  # Expiration's ISO 8601, once per fetch

        try:
            data = loads(body)
            expiration = data.get("Expiration")
            expires_at = datetime.fromisoformat(expiration).timestamp() if expiration else None
            return Credentials(
                str(data["AccessKeyId"]), str(data["SecretAccessKey"]), data.get("Token") or None, expires_at,
                self._clock(),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError) as error:  # JsonError is a ValueError
            raise RetryableSinkError(f"credentials endpoint {url}: unreadable answer ({error!r})") from None

    def _http(self, scheme: str, host: str, port: int) -> Connection:
        if self._connection is None:
            tls = None
            if scheme == "https":  # rare (ECS, EKS); Lambda's endpoint is plain HTTP on loopback
                from telemetry_ext.pipeline.tls import TlsContext

                tls = TlsContext(self._trust)
                tls.widen()  # the whole trust store: this is not S3, whose roots alone are loaded first
            self._connection = Connection(host, port, tls)
        return self._connection


def _token(source: ContainerEndpoint) -> str | None:
    if source.token_file is not None:
        try:
            with open(source.token_file, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as error:
            raise RetryableSinkError(f"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: {error}") from None
    return source.token
