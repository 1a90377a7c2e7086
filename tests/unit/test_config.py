import re
from pathlib import Path

import pytest

from telemetry_ext.config import SETTINGS, Config
from telemetry_ext.errors import ConfigError

BASE = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "TELEMETRY_EXT_BUCKET": "my-telemetry"}


def test_defaults_are_valid_and_documented_values() -> None:
    config = Config.from_env(BASE)
    assert config.types == ("platform", "function", "extension")
    assert config.buffer_timeout_ms == 25
    assert config.listener_port == 9071
    assert config.lambda_env.extension_name == "telemetry-ext"
    assert config.credentials is None


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
    env = {**BASE, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_SESSION_TOKEN": "tok"}
    config = Config.from_env(env)
    assert config.credentials is not None and config.credentials.secret_access_key == "s3cr3t"
    for secret in ("AKIDEXAMPLE", "s3cr3t", "tok"):
        assert secret not in repr(config)


def test_the_readme_table_lists_exactly_the_settings_with_their_defaults() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(TELEMETRY_EXT_[A-Z0-9_]+)` \| `([^`]*)` \|", readme, flags=re.MULTILINE))
    assert rows == {s.env: s.default for s in SETTINGS}
