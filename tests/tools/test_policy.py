"""Least-privilege policies from the extension's settings (unit), and the CLI's one-line errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from telemetry_tools import settings
from telemetry_tools.cli import main
from telemetry_tools.errors import ToolError
from telemetry_tools.policy import function_policy, publisher_policy

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def policy_for(region: str = "", account: str = "", **values: str) -> dict[str, Any]:
    env: Mapping[str, str] = {getattr(settings, name.upper()): value for name, value in values.items()}
    return function_policy(settings.Destination.from_env(env), region, account)


def test_the_default_policy_is_put_object_below_the_prefix_and_nothing_else() -> None:
    # GIVEN only a bucket WHEN the policy is generated
    document = policy_for(bucket="my-bucket")
    # THEN it allows exactly one action on exactly the keys the extension writes
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteTelemetryBatches",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": "arn:aws:s3:::my-bucket/telemetry/*",
            },
        ],
    }


def test_the_prefix_is_the_one_the_extension_writes_under() -> None:
    assert policy_for(bucket="b-1", prefix="/a//b/")["Statement"][0]["Resource"] == "arn:aws:s3:::b-1/a/b/*"
    assert policy_for(bucket="b-1", prefix="")["Statement"][0]["Resource"] == "arn:aws:s3:::b-1/*"


def test_sse_and_owner_become_conditions_on_the_put() -> None:
    (put,) = policy_for(bucket="b-1", sse="AES256", expected_bucket_owner="123456789012")["Statement"]
    assert put["Condition"] == {
        "StringEquals": {"s3:x-amz-server-side-encryption": "AES256", "s3:ResourceAccount": "123456789012"}
    }


def test_kms_adds_generate_data_key_on_that_key_through_s3_in_the_buckets_region() -> None:
    document = policy_for("eu-west-1", bucket="b-1", sse="aws:kms", sse_kms_key_id=KEY_ARN)
    _, kms = document["Statement"]
    assert kms["Action"] == ["kms:GenerateDataKey"] and kms["Resource"] == KEY_ARN
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    # the bucket's own region wins over the function's
    other = policy_for("eu-west-1", bucket="b-1", sse="aws:kms", sse_kms_key_id=KEY_ARN, bucket_region="us-east-2")
    assert other["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-2.amazonaws.com"
    # and with no region known, any S3 region (a pattern, so StringLike)
    anywhere = policy_for(bucket="b-1", sse="aws:kms", sse_kms_key_id=KEY_ARN)
    assert anywhere["Statement"][1]["Condition"] == {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}


def test_a_bare_key_id_becomes_an_arn_in_the_regions_partition() -> None:
    key = "1234abcd-12ab-34cd-56ef-1234567890ab"
    document = policy_for("cn-north-1", "123456789012", bucket="b-1", sse="aws:kms", sse_kms_key_id=key)
    put, kms = document["Statement"]
    assert put["Resource"] == "arn:aws-cn:s3:::b-1/telemetry/*"
    assert kms["Resource"] == f"arn:aws-cn:kms:cn-north-1:123456789012:key/{key}"


@pytest.mark.parametrize(
    ("key", "region", "account", "cause"),
    [
        ("alias/telemetry", "us-east-1", "123456789012", "alias"),
        ("arn:aws:kms:us-east-1:123456789012:alias/telemetry", "", "", "alias"),
        ("1234abcd-12ab-34cd-56ef-1234567890ab", "", "", "--region and --account"),
        ("not a key", "us-east-1", "123456789012", "neither"),
    ],
)
def test_a_key_iam_cannot_name_is_refused(key: str, region: str, account: str, cause: str) -> None:
    with pytest.raises(ToolError, match=cause):
        policy_for(region, account, bucket="b-1", sse="aws:kms", sse_kms_key_id=key)


def test_the_publishers_policy_names_only_its_layers() -> None:
    document = publisher_policy(["telemetry-ext-native-arm64"], "123456789012", ["eu-west-1"])
    publish, share = document["Statement"]
    assert publish["Action"] == ["lambda:PublishLayerVersion"]
    assert publish["Resource"] == ["arn:aws:lambda:eu-west-1:123456789012:layer:telemetry-ext-native-arm64"]
    assert share["Resource"] == ["arn:aws:lambda:eu-west-1:123456789012:layer:telemetry-ext-native-arm64:*"]
    with pytest.raises(ToolError, match="account"):
        publisher_policy(["x"], "nope")


def test_the_cli_prints_the_policy_and_reads_a_functions_environment(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    env_file = Path(str(tmp_path)) / "env.json"
    env_file.write_text(json.dumps({"Variables": {"TELEMETRY_EXT_BUCKET": "from-file", "TELEMETRY_EXT_PREFIX": "p"}}))
    assert main(["policy", "--env-file", str(env_file), "--prefix", "flag"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["Statement"][0]["Resource"] == "arn:aws:s3:::from-file/flag/*"  # flags override the file


def test_a_user_error_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--bucket", "b-1", "--sse", "aws:kms", "--kms-key-id", "alias/x"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "alias" in error and "Traceback" not in error
