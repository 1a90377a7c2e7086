"""The variables Lambda sets for the function, per mode and credentials source (lambda-api.md §5.4).

- `AWS_LAMBDA_INITIALIZATION_TYPE` is the mode's init type.
- LMI: `AWS_LAMBDA_MAX_CONCURRENCY` for the runtime only (LMI RIE `getRuntimeOnlyEnvVars`; extensions lose it),
  and `_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET`, where each runtime worker connects its output
  (sandbox/log_sockets.py; `_`-prefixed, so extensions lose it too).
- SnapStart: no `AWS_LAMBDA_LOG_GROUP_NAME` / `AWS_LAMBDA_LOG_STREAM_NAME` (SnapStart monitoring docs).
- Container credentials: `AWS_CONTAINER_CREDENTIALS_FULL_URI` (`http://<Runtime API address>/2021-04-23/
  credentials`) and `AWS_CONTAINER_AUTHORIZATION_TOKEN` (RIE `StoreEnvironmentVariablesFromInitForInitCaching`),
  and no `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` at all, wherever they came from
  (Lambda does not let a function set them; LMI RIE drops them from the customer's variables).
- Environment credentials, always (Lambda gives every function its role's): the configured identity's keys, else
  the keys found in `env`, else the host's, else placeholder keys (`PLACEHOLDER_IDENTITY`). A key variable a test
  sets in `env` itself (even to "") wins over the last three, so a test can still take the keys away; a test that
  sets `AWS_CONTAINER_CREDENTIALS_FULL_URI` (or `_RELATIVE_URI`) itself gets no keys added (they would win).
- The JSON log format (LoggingConfig LogFormat=JSON): `AWS_LAMBDA_LOG_FORMAT=JSON`, as Lambda sets it.
- Extensions get the function's variables but the runtime-only ones and every `_`-prefixed key (§5.4).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from lambda_emulator.sandbox.log_sockets import VARIABLE as LOG_SOCKET_VARIABLE
from lambda_emulator.state import credentials
from lambda_emulator.state.config import PLACEHOLDER_IDENTITY, EmulatorConfig
from lambda_emulator.state.credentials import CredentialsEndpoint, Identity

CONTAINER_VARIABLES: Final = frozenset({"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"})
"""A test that points the function at a credentials endpoint of its own chose its source: no keys are added."""
KEY_VARIABLES: Final = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY")
# Runtime-specific variables that extensions do not get; every key starting with "_" is dropped too.
RUNTIME_ONLY: Final = frozenset(
    {
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
        "AWS_LAMBDA_MAX_CONCURRENCY",  # LMI RIE sets it for the runtime only (getRuntimeOnlyEnvVars)
    }
)
PASSED_THROUGH: Final = ("PATH", "LANG", "HOME")


def function_env(
    config: EmulatorConfig,
    api_address: str,
    instance_id: str,
    task_root: str,
    endpoint: CredentialsEndpoint | None,
    log_socket: str | None = None,
) -> dict[str, str]:
    platform = {
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": config.function_version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_INITIALIZATION_TYPE": config.rules.init_type,
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "LAMBDA_TASK_ROOT": task_root,
    }
    if config.mode != "snapstart":
        platform["AWS_LAMBDA_LOG_GROUP_NAME"] = f"/aws/lambda/{config.function_name}"
        platform["AWS_LAMBDA_LOG_STREAM_NAME"] = instance_id
    if config.mode == "lmi":
        platform["AWS_LAMBDA_MAX_CONCURRENCY"] = str(config.concurrency)
        if log_socket is not None:
            platform[LOG_SOCKET_VARIABLE] = log_socket
    if config.log_format == "JSON":
        platform["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
    if endpoint is None and not CONTAINER_VARIABLES & set(config.env):
        platform.update(key_variables(identity_for(config)))  # a variable the test sets itself still wins
    platform.update(config.runtime.environment(task_root))
    env = function_environment(config.env, platform)
    if endpoint is not None or config.credentials_identity is not None:
        for name in KEY_VARIABLES:
            env.pop(name, None)
    if endpoint is not None:
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = f"http://{api_address}{credentials.PATH}"
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = endpoint.token
    elif config.credentials_identity is not None:
        env.update(key_variables(config.credentials_identity))
    return env


def key_variables(identity: Identity) -> dict[str, str]:
    key, secret, session = identity
    return {
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        **({"AWS_SESSION_TOKEN": session} if session else {}),
    }


def identity_for(config: EmulatorConfig) -> Identity:
    """The execution role's keys for the credentials endpoint: the configured identity, else the keys the
    function would have had in its environment (`env`, then the host's), else a placeholder."""
    if config.credentials_identity is not None:
        return config.credentials_identity
    for source in (config.env, os.environ):
        if source.get("AWS_ACCESS_KEY_ID") and source.get("AWS_SECRET_ACCESS_KEY"):
            return source["AWS_ACCESS_KEY_ID"], source["AWS_SECRET_ACCESS_KEY"], source.get("AWS_SESSION_TOKEN")
    return PLACEHOLDER_IDENTITY


def function_environment(
    user_env: Mapping[str, str], platform_env: Mapping[str, str], host_env: Mapping[str, str] = os.environ
) -> dict[str, str]:
    env = {k: host_env[k] for k in PASSED_THROUGH if k in host_env}
    env.update(platform_env)
    env.update(user_env)
    env.setdefault("TZ", "UTC")
    return env


def extension_environment(function_env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in function_env.items() if k not in RUNTIME_ONLY and not k.startswith("_")}
