"""The tools know the extension by its setting names and key layout only: both are checked against it here."""

from __future__ import annotations

import pytest

from telemetry_ext.config import SETTINGS
from telemetry_ext.pipeline.batcher import safe_segments
from telemetry_tools import settings
from telemetry_tools.errors import ToolError

# Announced by the lead and used by the tools already (bucket region for KMS's ViaService); the extension
# may not declare it yet. Once it does, this allowance is moot: every other name must exist today.
ANNOUNCED = {settings.BUCKET_REGION}


def test_every_setting_name_the_tools_use_is_one_the_extension_declares() -> None:
    declared = {s.env for s in SETTINGS}
    assert set(settings.NAMES) - ANNOUNCED <= declared
    assert {s.field for s in SETTINGS if s.env in settings.NAMES}  # not vacuous


def test_the_default_prefix_is_the_extensions() -> None:
    (prefix,) = [s.default for s in SETTINGS if s.env == settings.PREFIX]
    assert prefix == settings.DEFAULT_PREFIX


@pytest.mark.parametrize(
    "prefix",
    ["telemetry", "", "/a//b/", "a/../b", "./x/.", "weird name/ok", "a..b/c", "tele/metry.v1/", "..", "ü/ß"],
)
def test_prefixes_are_normalised_exactly_as_the_extension_writes_them(prefix: str) -> None:
    assert settings.normalise_prefix(prefix) == "/".join(safe_segments(prefix))


def test_settings_are_read_from_an_environment_with_defaults() -> None:
    destination = settings.Destination.from_env({settings.BUCKET: "my-bucket"})
    assert (destination.bucket, destination.prefix, destination.key_root) == ("my-bucket", "telemetry", "telemetry/")
    empty = settings.Destination.from_env({settings.BUCKET: "my-bucket", settings.PREFIX: ""})
    assert empty.key_root == ""


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, settings.BUCKET),
        ({settings.BUCKET: "Bad_Bucket"}, settings.BUCKET),
        ({settings.BUCKET: "b-1", settings.SSE: "aes"}, settings.SSE),
        ({settings.BUCKET: "b-1", settings.SSE: "aws:kms"}, settings.SSE_KMS_KEY_ID),
        ({settings.BUCKET: "b-1", settings.SSE_KMS_KEY_ID: "k"}, settings.SSE),
        ({settings.BUCKET: "b-1", settings.EXPECTED_BUCKET_OWNER: "12"}, settings.EXPECTED_BUCKET_OWNER),
        ({settings.BUCKET: "b-1", settings.BUCKET_REGION: "mars"}, settings.BUCKET_REGION),
    ],
)
def test_a_bad_setting_is_refused_with_its_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(ToolError, match=named):
        settings.Destination.from_env(env)
