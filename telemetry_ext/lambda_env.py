"""What Lambda gives the extension, read from the environment (with `config.py`, the only readers of it).

- the API address, the function, the region and the kind of environment (`Mode`, from
  `AWS_LAMBDA_INITIALIZATION_TYPE`: on-demand, provisioned concurrency, SnapStart, Lambda Managed Instances);
- where AWS credentials come from (`CredentialSource`), in the AWS SDKs' order: the environment's keys, then the
  container credentials endpoint (what SnapStart and Lambda Managed Instances give, lambda-api.md §5.4);
- which certificates to trust for TLS (`TrustSource`), in the SDKs' order: `AWS_CA_BUNDLE`, then OpenSSL's
  `SSL_CERT_FILE` / `SSL_CERT_DIR`, then the system's own store (found in `pipeline/tls.py`).

Read apart from the user's settings, so that an extension with a bad setting can still register and report
it through /init/error.
"""

from __future__ import annotations

import os

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.errors import ConfigError
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final, Literal

    Mode = Literal["on-demand", "provisioned-concurrency", "snap-start", "lambda-managed-instances"]

MODES: Final[tuple[Mode, ...]] = ("on-demand", "provisioned-concurrency", "snap-start", "lambda-managed-instances")
ECS_CREDENTIALS_HOST: Final = "169.254.170.2"
_CONTAINER_HOSTS: Final = frozenset({"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"})
_HEX: Final = frozenset("0123456789abcdef")
FULL_URI: Final = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
RELATIVE_URI: Final = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
TOKEN: Final = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
TOKEN_FILE: Final = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"


class EnvironmentKeys(Record):
    """The execution role's keys as environment variables (on-demand and provisioned-concurrency functions)."""

    def __init__(self, access_key_id: str, secret_access_key: str, session_token: str | None = None) -> None:
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token

    def __repr__(self) -> str:
        return "EnvironmentKeys(...)"  # never the keys


class ContainerEndpoint(Record):
    """Credentials served over HTTP, refreshed before they expire (SnapStart, Lambda Managed Instances)."""

    def __init__(self, url: str, token: str | None = None, token_file: str | None = None) -> None:
        self.url = url
        self.token = token
        self.token_file = token_file
        """Read at every fetch: the file's owner may rotate the token."""

    def __repr__(self) -> str:
        return f"ContainerEndpoint(url={self.url!r}, token_file={self.token_file!r})"  # never the token


CredentialSource = EnvironmentKeys | ContainerEndpoint


class TrustSource(Record):
    """Where the CA certificates come from: the first variable that is set, else the system's store."""

    def __init__(self, variable: str | None = None, path: str | None = None, is_directory: bool = False) -> None:
        self.variable = variable
        self.path = path
        self.is_directory = is_directory


class LambdaEnv(Record):
    def __init__(
        self,
        runtime_api: str,
        extension_name: str,
        function_name: str,
        function_version: str,
        region: str,
        mode: Mode = "on-demand",
    ) -> None:
        self.runtime_api = runtime_api
        self.extension_name = extension_name
        self.function_name = function_name
        self.function_version = function_version
        self.region = region
        self.mode = mode

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LambdaEnv:
        kind = env.get("AWS_LAMBDA_INITIALIZATION_TYPE", "").strip()
        return cls(
            runtime_api=_required(env, "AWS_LAMBDA_RUNTIME_API"),
            # The launcher sets this to its own file name, which is the name Lambda expects at /register.
            extension_name=env.get("LAMBDA_EXTENSION_NAME", "").strip() or "telemetry-ext",
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", "") or "unknown-function",
            function_version=env.get("AWS_LAMBDA_FUNCTION_VERSION", "") or "$LATEST",
            region=env.get("AWS_REGION", "") or env.get("AWS_DEFAULT_REGION", "") or "us-east-1",
            # An initialization type we do not know yet is served as on-demand: INVOKE and SHUTDOWN.
            mode=next((m for m in MODES if m == kind), "on-demand"),
        )

    @property
    def shutdown_only(self) -> bool:
        """Lambda Managed Instances refuse an INVOKE registration (lambda-api.md §1.5)."""
        return self.mode == "lambda-managed-instances"


def credential_source(env: Mapping[str, str]) -> CredentialSource:
    """The first source the AWS SDKs would use, validated; ConfigError naming the variables if there is none."""
    key, secret = env.get("AWS_ACCESS_KEY_ID", "").strip(), env.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if key or secret:
        if not (key and secret):
            missing = "AWS_SECRET_ACCESS_KEY" if key else "AWS_ACCESS_KEY_ID"
            raise ConfigError(missing, "is not set, but its pair is: give both keys or neither")
        return EnvironmentKeys(key, secret, env.get("AWS_SESSION_TOKEN", "").strip() or None)
    full, relative = env.get(FULL_URI, "").strip(), env.get(RELATIVE_URI, "").strip()
    if full or relative:
        url = full or f"http://{ECS_CREDENTIALS_HOST}{relative}"
        _check_container_url(FULL_URI if full else RELATIVE_URI, url)
        token_file = env.get(TOKEN_FILE, "").strip() or None
        if token_file is not None and not os.path.isfile(token_file):
            raise ConfigError(TOKEN_FILE, f"{token_file!r} is not a readable file")
        return ContainerEndpoint(url, env.get(TOKEN, "").strip() or None, token_file)
    raise ConfigError(
        "AWS_ACCESS_KEY_ID",
        f"no AWS credentials: neither AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY nor {FULL_URI} is set "
        "(Lambda sets one of them for every function: is this running outside Lambda?)",
    )


def _check_container_url(variable: str, url: str) -> None:
    """As the SDKs: HTTPS anywhere, plain HTTP only to loopback or the ECS/EKS credential addresses."""
    from telemetry_ext.urls import split_url

    try:
        parts = split_url(url)
    except ValueError:
        raise ConfigError(variable, f"{url!r} is not an http(s) URL") from None
    if parts.scheme == "https" or _is_loopback(parts.host) or parts.host in _CONTAINER_HOSTS:
        return
    raise ConfigError(variable, f"{url!r}: plain HTTP is allowed to loopback and the container hosts only")


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8 or ::1 (in any of its spellings), as `ipaddress`'s is_loopback says, without importing it."""
    quads = host.split(".")
    if len(quads) == 4 and all(q.isdigit() and int(q) < 256 for q in quads):
        return quads[0] == "127"
    return _ipv6_value(host) == 1


def _ipv6_value(text: str) -> int | None:
    """An IPv6 address's 128 bits (no embedded IPv4, no zone), or None if `text` is not one."""
    head, gap, tail = text.partition("::")
    left, right = (head.split(":") if head else []), (tail.split(":") if tail else [])
    missing = 8 - len(left) - len(right)
    if (gap and missing < 1) or (not gap and missing != 0):
        return None
    value = 0
    for group in left + ["0"] * missing + right:
        if not 1 <= len(group) <= 4 or not set(group.lower()) <= _HEX:
            return None
        value = value << 16 | int(group, 16)
    return value


def trust_source(env: Mapping[str, str]) -> TrustSource:
    for variable, directory in (("AWS_CA_BUNDLE", False), ("SSL_CERT_FILE", False), ("SSL_CERT_DIR", True)):
        path = env.get(variable, "").strip()
        if not path:
            continue
        exists = os.path.isdir(path) if directory else os.path.isfile(path)
        if not exists:
            raise ConfigError(variable, f"{path!r} is not a {'directory' if directory else 'file'}")
        return TrustSource(variable, path, directory)
    return TrustSource()


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(name, "is not set; Lambda sets it for every extension")
    return value
