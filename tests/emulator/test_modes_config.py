"""Pure rules: each mode's settings and limits, the config's one-line refusals, the credentials' lifetime, the
variables each mode gives the function (lambda-api.md §5.4; deploy-and-modes.md §3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from lambda_emulator.state.config import PLACEHOLDER_IDENTITY, ConfigError, EmulatorConfig
from lambda_emulator.state.credentials import CredentialsEndpoint
from lambda_emulator.state.modes import default_init_timeout_s, rules_for
from lambda_emulator.state.platform_env import extension_environment, function_env, identity_for
from lambda_emulator.state.runtimes import SimulatedRuntime

KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def config(**settings: Any) -> EmulatorConfig:
    return EmulatorConfig(runtime=SimulatedRuntime(), **settings)


@pytest.mark.parametrize(
    ("mode", "init_type", "expected"),
    [
        ("on-demand", None, "on-demand"),
        ("on-demand", "provisioned-concurrency", "provisioned-concurrency"),
        ("lmi", None, "lambda-managed-instances"),
        ("snapstart", None, "snap-start"),
    ],
)
def test_each_mode_has_its_initialization_type(mode: str, init_type: str | None, expected: str) -> None:
    assert rules_for(mode, init_type).init_type == expected  # type: ignore[arg-type]


def test_only_lmi_runs_concurrently_without_freeze_and_without_runtime_done() -> None:
    lmi, on_demand, snapstart = rules_for("lmi"), rules_for("on-demand"), rules_for("snapstart")
    assert (lmi.concurrent, lmi.freezes, lmi.runtime_done) == (True, False, False)
    assert (on_demand.concurrent, on_demand.freezes, on_demand.runtime_done) == (False, True, True)
    assert (snapstart.concurrent, snapstart.freezes, snapstart.restores) == (False, True, True)
    assert lmi.schema_versions == {"2025-01-29"} and lmi.external_events == {"SHUTDOWN"}


@pytest.mark.parametrize(("timeout_s", "expected"), [(3.0, 130.0), (600.0, 600.0)])
def test_lmi_init_may_take_130_s_or_the_function_timeout(timeout_s: float, expected: float) -> None:
    assert default_init_timeout_s("lmi", timeout_s) == expected
    assert default_init_timeout_s("on-demand", timeout_s) == 10.0
    assert config(mode="lmi", timeout_s=timeout_s).effective_init_timeout_s == expected
    assert config(mode="lmi", init_timeout_s=2.0).effective_init_timeout_s == 2.0


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"mode": "lambda"}, "mode"),
        ({"mode": "snapstart", "credentials": "env"}, "credentials=env"),
        ({"mode": "on-demand", "concurrency": 4}, "concurrency"),
        ({"mode": "lmi", "concurrency": 0}, "concurrency"),
        ({"mode": "lmi", "init_type": "provisioned-concurrency"}, "init_type"),
        ({"credentials": "instance-profile"}, "credentials"),
        ({"credentials_ttl_s": 0}, "credentials_ttl_s"),
    ],
)
def test_a_config_lambda_could_not_run_is_refused_naming_the_setting(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as refused:
        config(**settings)
    assert "\n" not in str(refused.value)


def test_snapstart_defaults_to_container_credentials_and_the_others_to_environment_keys() -> None:
    assert config(mode="snapstart").credentials_source == "container"
    assert config(mode="lmi").credentials_source == "env"
    assert config(credentials="container").credentials_source == "container"


def test_container_credentials_leave_no_key_variable_anywhere() -> None:
    # GIVEN keys in the function's variables (as the tests' S3 helper sets them) and container credentials
    chosen = config(mode="snapstart", env={"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "X": "1"})
    endpoint = CredentialsEndpoint(identity_for(chosen), 60)
    # WHEN the function's and the extensions' variables are built
    env = function_env(chosen, "127.0.0.1:9001", "stream", "/var/task", endpoint)
    # THEN neither has a key, both have the endpoint, and the endpoint serves those keys
    for variables in (env, extension_environment(env)):
        assert not set(KEYS) & set(variables)
        assert variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://127.0.0.1:9001/2021-04-23/credentials"
        assert variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == endpoint.token
    assert endpoint.identity == ("k", "s", None) and env["X"] == "1"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "snap-start"
    assert "AWS_LAMBDA_LOG_STREAM_NAME" not in env and "AWS_LAMBDA_LOG_GROUP_NAME" not in env


def test_environment_credentials_come_from_the_identity() -> None:
    chosen = config(credentials_identity=("AKIA1", "secret1", "session1"), env={"AWS_ACCESS_KEY_ID": "other"})
    env = function_env(chosen, "127.0.0.1:9001", "stream", "/var/task", None)
    assert tuple(env[k] for k in KEYS) == ("AKIA1", "secret1", "session1")
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in env


def test_lmi_max_concurrency_is_for_the_runtime_only() -> None:
    env = function_env(config(mode="lmi", concurrency=8), "127.0.0.1:9001", "stream", "/var/task", None)
    assert env["AWS_LAMBDA_MAX_CONCURRENCY"] == "8"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "lambda-managed-instances"
    assert "AWS_LAMBDA_MAX_CONCURRENCY" not in extension_environment(env)  # LMI RIE getRuntimeOnlyEnvVars


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def expiration(endpoint: CredentialsEndpoint) -> datetime:
    status, body = endpoint.answer(endpoint.token)
    assert status == 200
    return datetime.fromisoformat(orjson.loads(body)["Expiration"])


def test_credentials_are_issued_anew_once_half_their_lifetime_is_gone() -> None:
    clock = Clock()
    endpoint = CredentialsEndpoint(("k", "s", "t"), ttl_s=100, clock=clock)
    first = expiration(endpoint)
    assert first == datetime.fromtimestamp(clock.now + 100, UTC)
    clock.now += 40  # 60 s left: the same credentials
    assert expiration(endpoint) == first
    clock.now += 20  # 40 s left: new ones, valid 100 s from now
    assert expiration(endpoint) == datetime.fromtimestamp(clock.now + 100, UTC)
    assert [r.authorized for r in endpoint.requests] == [True, True, True] and endpoint.issued == 2


def test_credentials_record_who_asked_with_which_token_and_when() -> None:
    clock = Clock()
    endpoint = CredentialsEndpoint(("k", "s", None), ttl_s=100, clock=clock)
    endpoint.phase = "restore"
    assert endpoint.answer("wrong")[0] == 404
    assert endpoint.answer(None)[0] == 404
    assert endpoint.answer(endpoint.token)[0] == 200
    assert [(r.authorized, r.phase, r.at) for r in endpoint.requests] == [
        (False, "restore", clock.now), (False, "restore", clock.now), (True, "restore", clock.now),
    ]  # fmt: skip


def test_a_function_always_has_credentials_placeholders_when_none_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no keys anywhere: not in the function's variables, not on the host
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    # WHEN the function's variables are built with Lambda's defaults
    env = function_env(config(), "127.0.0.1:9001", "stream", "/var/task", None)
    # THEN it has role-like temporary credentials all the same, and the console's region, memory and timeout
    assert tuple(env[k] for k in KEYS) == PLACEHOLDER_IDENTITY
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128" and config().timeout_s == 3.0


def test_the_hosts_keys_come_next_and_a_tests_own_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHOST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    from_host = function_env(config(), "127.0.0.1:9001", "stream", "/var/task", None)
    taken_away = function_env(config(env={"AWS_ACCESS_KEY_ID": ""}), "127.0.0.1:9001", "stream", "/var/task", None)
    assert (from_host["AWS_ACCESS_KEY_ID"], from_host["AWS_SECRET_ACCESS_KEY"]) == ("AKIAHOST", "host-secret")
    assert "AWS_SESSION_TOKEN" not in from_host
    assert taken_away["AWS_ACCESS_KEY_ID"] == ""  # a test can still take the keys away (our extension's init test)


def test_a_credentials_endpoint_the_test_names_itself_gets_no_keys_beside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no keys anywhere, and a function pointed at a credentials endpoint of the test's own
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    own = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "t"}
    env = function_env(config(env=own), "127.0.0.1:9001", "stream", "/var/task", None)
    # THEN no placeholder keys are added: an SDK would take them before the endpoint
    assert (
        not set(KEYS) & set(env)
        and env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == own["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    )
