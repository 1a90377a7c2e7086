import re
from pathlib import Path

import pytest

from telemetry_ext.config import SETTINGS, Config
from telemetry_ext.errors import ConfigError
from telemetry_ext.lambda_env import ContainerEndpoint, EnvironmentKeys, TrustSource

KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
BASE = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "TELEMETRY_EXT_BUCKET": "my-telemetry", **KEYS}


def test_defaults_are_valid_and_documented_values() -> None:
    config = Config.from_env(BASE)
    assert config.types == ("platform", "function", "extension")
    assert config.buffer_timeout_ms == 25
    assert config.listener_port == 9071
    assert config.lambda_env.extension_name == "telemetry-ext"
    assert config.lambda_env.mode == "on-demand"
    assert config.flush_budget_ms == 0
    assert config.credentials == EnvironmentKeys("AKIDEXAMPLE", "s3cr3t", None)
    assert config.trust == TrustSource()


def test_the_bucket_region_defaults_to_the_functions_region() -> None:
    assert Config.from_env({**BASE, "AWS_REGION": "eu-west-1"}).bucket_region == "eu-west-1"
    env = {**BASE, "AWS_REGION": "eu-west-1", "TELEMETRY_EXT_BUCKET_REGION": "ap-southeast-2"}
    assert Config.from_env(env).bucket_region == "ap-southeast-2"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEMETRY_EXT_BUCKET", ""),
        ("TELEMETRY_EXT_BUCKET", "Not_A_Bucket"),
        ("TELEMETRY_EXT_BUFFER_MAX_ITEMS", "999"),
        ("TELEMETRY_EXT_BUFFER_MAX_BYTES", "2000000"),
        ("TELEMETRY_EXT_BUFFER_TIMEOUT_MS", "24"),
        ("TELEMETRY_EXT_LISTENER_PORT", "9001"),
        ("TELEMETRY_EXT_LISTENER_PORT", "eighty"),
        ("TELEMETRY_EXT_TYPES", "platform,metrics"),
        ("TELEMETRY_EXT_TYPES", ""),
        ("TELEMETRY_EXT_SSE", "aes"),
        ("TELEMETRY_EXT_EXPECTED_BUCKET_OWNER", "12345"),
        ("TELEMETRY_EXT_S3_ENDPOINT_URL", "localhost:9000"),
        ("TELEMETRY_EXT_LOG_LEVEL", "loud"),
        ("TELEMETRY_EXT_BATCH_MAX_BYTES", "20000000"),
        ("TELEMETRY_EXT_BUCKET_REGION", "Europe"),
        ("TELEMETRY_EXT_SHUTDOWN_QUIET_MS", "2000"),
    ],
)
def test_a_bad_setting_is_refused_with_its_name(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Config.from_env({**BASE, variable: value})
    assert raised.value.setting == variable
    assert str(raised.value).startswith(variable)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("TELEMETRY_EXT_SSE", "aws:kms", "TELEMETRY_EXT_SSE_KMS_KEY_ID"),
        ("TELEMETRY_EXT_SSE_KMS_KEY_ID", "key-1", "TELEMETRY_EXT_SSE"),
    ],
)
def test_settings_that_go_together_name_the_missing_one(variable: str, value: str, named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Config.from_env({**BASE, variable: value})
    assert raised.value.setting == named


def test_missing_runtime_api_is_named() -> None:
    with pytest.raises(ConfigError, match="AWS_LAMBDA_RUNTIME_API"):
        Config.from_env({"TELEMETRY_EXT_BUCKET": "my-telemetry"})


def test_credentials_never_show_in_the_config_repr() -> None:
    config = Config.from_env({**BASE, "AWS_SESSION_TOKEN": "tok"})
    assert isinstance(config.credentials, EnvironmentKeys) and config.credentials.secret_access_key == "s3cr3t"
    for secret in ("AKIDEXAMPLE", "s3cr3t", "tok"):
        assert secret not in repr(config)
    container = Config.from_env({**NO_KEYS, FULL_URI: "http://127.0.0.1:9001/creds", TOKEN: "s3cr3t-token"})
    assert "s3cr3t-token" not in repr(container)


NO_KEYS = {k: v for k, v in BASE.items() if k not in KEYS}
FULL_URI, TOKEN = "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN"


def test_without_keys_the_container_endpoint_is_the_source_as_on_snapstart_and_managed_instances() -> None:
    config = Config.from_env({**NO_KEYS, FULL_URI: "http://127.0.0.1:9001/2021-04-23/credentials", TOKEN: "t"})
    assert config.credentials == ContainerEndpoint("http://127.0.0.1:9001/2021-04-23/credentials", "t", None)
    relative = Config.from_env({**NO_KEYS, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"})
    assert relative.credentials == ContainerEndpoint("http://169.254.170.2/v2/credentials/x")


def test_the_environments_keys_come_first_as_in_the_aws_sdks() -> None:
    config = Config.from_env({**BASE, FULL_URI: "http://127.0.0.1:9001/creds"})
    assert isinstance(config.credentials, EnvironmentKeys)


def test_a_token_file_is_checked_at_init(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("secret\n")
    env = {**NO_KEYS, FULL_URI: "http://127.0.0.1:9001/c", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token)}
    assert Config.from_env(env).credentials == ContainerEndpoint("http://127.0.0.1:9001/c", None, str(token))
    env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = str(tmp_path / "missing")
    with pytest.raises(ConfigError) as raised:
        Config.from_env(env)
    assert raised.value.setting == "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"


@pytest.mark.parametrize(
    ("env", "named", "words"),
    [
        ({}, "AWS_ACCESS_KEY_ID", "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        ({"AWS_ACCESS_KEY_ID": "AKID"}, "AWS_SECRET_ACCESS_KEY", "give both"),
        ({"AWS_SECRET_ACCESS_KEY": "s"}, "AWS_ACCESS_KEY_ID", "give both"),
        ({FULL_URI: "http://198.51.100.7/creds"}, FULL_URI, "plain HTTP"),
        ({FULL_URI: "ftp://127.0.0.1/creds"}, FULL_URI, "not an http(s) URL"),
    ],
    ids=["none", "no-secret", "no-key", "http-to-a-remote-host", "not-http"],
)
def test_a_missing_or_unsafe_credential_source_fails_init_naming_the_variables(
    env: dict[str, str], named: str, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        Config.from_env({**NO_KEYS, **env})
    assert raised.value.setting == named and words in str(raised.value)


def test_https_container_endpoints_are_allowed_anywhere() -> None:
    config = Config.from_env({**NO_KEYS, FULL_URI: "https://creds.example.com/v1"})
    assert config.credentials == ContainerEndpoint("https://creds.example.com/v1")


def test_the_trust_store_follows_the_sdk_order_and_a_missing_file_is_named(tmp_path: Path) -> None:
    bundle, other = tmp_path / "bundle.pem", tmp_path / "other.pem"
    bundle.write_text("x")
    other.write_text("x")
    env = {**BASE, "AWS_CA_BUNDLE": str(bundle), "SSL_CERT_FILE": str(other), "SSL_CERT_DIR": str(tmp_path)}
    assert Config.from_env(env).trust == TrustSource("AWS_CA_BUNDLE", str(bundle), False)
    assert Config.from_env({**BASE, "SSL_CERT_DIR": str(tmp_path)}).trust == TrustSource(
        "SSL_CERT_DIR", str(tmp_path), True
    )
    with pytest.raises(ConfigError) as raised:
        Config.from_env({**BASE, "AWS_CA_BUNDLE": str(tmp_path / "missing.pem")})
    assert raised.value.setting == "AWS_CA_BUNDLE"


@pytest.mark.parametrize(
    ("kind", "mode"),
    [
        ("on-demand", "on-demand"),
        ("provisioned-concurrency", "provisioned-concurrency"),
        ("snap-start", "snap-start"),
        ("lambda-managed-instances", "lambda-managed-instances"),
        ("", "on-demand"),
        ("something-new", "on-demand"),
    ],
)
def test_the_kind_of_environment_comes_from_the_initialization_type(kind: str, mode: str) -> None:
    config = Config.from_env({**BASE, "AWS_LAMBDA_INITIALIZATION_TYPE": kind})
    assert config.lambda_env.mode == mode
    assert config.lambda_env.shutdown_only == (mode == "lambda-managed-instances")


def test_the_readme_table_lists_exactly_the_settings_with_their_defaults() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(TELEMETRY_EXT_[A-Z0-9_]+)` \| `([^`]*)` \|", readme, flags=re.MULTILINE))
    assert rows == {s.env: s.default for s in SETTINGS}
