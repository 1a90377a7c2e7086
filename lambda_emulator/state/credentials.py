"""The container credentials endpoint Lambda serves to SnapStart functions (and here, on request, to any mode).

As RIE serves it in init-caching mode (`internal/lambda/rapi/handler/credentials.go`, `core/credentials.go`):
`GET /2021-04-23/credentials` on the Runtime API's address, the `Authorization` header must equal
`AWS_CONTAINER_AUTHORIZATION_TOKEN`; any other value, or none, gets `404` with the text body
`cannot get credentials for the provided token`. The answer is `{"AccessKeyId", "SecretAccessKey", "Token",
"Expiration"}` (RFC 3339, UTC; `Token` is an empty string when the identity has no session token, as RIE
renders it). Go's server labels both bodies `text/plain; charset=utf-8`; so does this one.

The credentials are the configured identity's. They are issued with `Expiration = issued + ttl`; a request
made when less than half of that lifetime is left gets them issued anew (the platform refreshes role
credentials ahead of their expiry), and a SnapStart restore issues them anew too (RIE `UpdateCredentials`).
Every request is recorded, so a test can tell that this endpoint was the only source used.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import orjson

PATH: Final = "/2021-04-23/credentials"
NOT_FOUND: Final = b"cannot get credentials for the provided token\n"
CONTENT_TYPE: Final = "text/plain; charset=utf-8"

Identity = tuple[str, str, str | None]
"""(access key id, secret access key, session token or None)."""


@dataclass(frozen=True, slots=True)
class CredentialsRequest:
    at: float
    """Wall-clock time of the request (seconds)."""
    authorized: bool
    phase: str
    """The environment's phase when it was asked: init, restore, invoke, shutdown."""
    expiration: str | None = None
    """The Expiration served (None when refused)."""


class CredentialsEndpoint:
    def __init__(self, identity: Identity, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.identity = identity
        self.ttl_s = ttl_s
        self.token = uuid.uuid4().hex
        self.requests: list[CredentialsRequest] = []
        self.phase = "init"
        self.issued = 0
        self._clock = clock
        self._expires_at = 0.0
        self.issue()

    def issue(self) -> None:
        """New credentials (same identity) valid for `ttl_s` from now."""
        self._expires_at = self._clock() + self.ttl_s
        self.issued += 1

    def answer(self, authorization: str | None) -> tuple[int, bytes]:
        """(status, body) for one request carrying this Authorization header value."""
        now = self._clock()
        if authorization != self.token:
            self.requests.append(CredentialsRequest(now, False, self.phase))
            return 404, NOT_FOUND
        if self._expires_at - now < self.ttl_s / 2:
            self.issue()
        expiration = rfc3339(self._expires_at)
        self.requests.append(CredentialsRequest(now, True, self.phase, expiration))
        key, secret, session = self.identity
        body = {"AccessKeyId": key, "SecretAccessKey": secret, "Token": session or "", "Expiration": expiration}
        return 200, orjson.dumps(body)

    @property
    def authorized_requests(self) -> int:
        return sum(r.authorized for r in self.requests)

    @property
    def refused_requests(self) -> int:
        return sum(not r.authorized for r in self.requests)


def rfc3339(epoch_s: float) -> str:
    return datetime.fromtimestamp(int(epoch_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
