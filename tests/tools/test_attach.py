"""Attaching a layer version to an existing function (moto's Lambda and IAM APIs): layers and environment
kept, an older version of the same layer replaced, the role's policy added; refusals in one line."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from telemetry_tools.attach import plan
from telemetry_tools.cli import main
from telemetry_tools.errors import ToolError
from tests.tools.zips import layer

REGION = "us-east-1"
ASSUME = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


@pytest.fixture
def function(lambda_api: str, aws_env: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A function with a layer of its own and a variable of its own, and our layer published twice."""
    client = boto3.client("lambda", region_name=REGION, endpoint_url=lambda_api)
    iam = boto3.client("iam", region_name=REGION, endpoint_url=lambda_api)
    name = f"fn-{tmp_path.name[-20:]}".replace("_", "-")
    role = iam.create_role(RoleName=f"role-{name}", AssumeRolePolicyDocument=ASSUME)["Role"]["Arn"]
    zip_bytes = layer(tmp_path).read_bytes()
    other = client.publish_layer_version(LayerName=f"other-{name}", Content={"ZipFile": zip_bytes})["LayerVersionArn"]
    ours = [
        client.publish_layer_version(
            LayerName=f"ours-{name}",
            Content={"ZipFile": zip_bytes},
            CompatibleArchitectures=["x86_64"],
            CompatibleRuntimes=["python3.12"],
        )["LayerVersionArn"]
        for _ in range(2)
    ]
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": code()},
        Layers=[other, ours[0]],
        Environment={"Variables": {"APP_SETTING": "kept"}},
    )
    yield {
        "name": name,
        "role": role,
        "other": other,
        "ours": ours,
        "client": client,
        "iam": iam,
        "endpoint": lambda_api,
    }


def attach_argv(function: dict[str, Any], *options: str) -> list[str]:
    """`attach` of version 2 of our layer to the test's function, against moto, with `options`."""
    return ["attach", "--function", function["name"], "--layer-arn", function["ours"][1], *options,
            "--endpoint-url", function["endpoint"]]  # fmt: skip


def test_attach_keeps_what_the_function_had_and_replaces_the_older_version(
    function: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a function with another layer, version 1 of ours, and a variable of its own
    # WHEN version 2 is attached with the extension's bucket and the role's policy
    assert main(attach_argv(function, "--bucket", "my-bucket", "--prefix", "team", "--put-role-policy")) == 0
    # THEN the other layer stays, version 1 is replaced, the variables are merged
    configuration = function["client"].get_function_configuration(FunctionName=function["name"])
    assert [item["Arn"] for item in configuration["Layers"]] == [function["other"], function["ours"][1]]
    assert configuration["Environment"]["Variables"] == {
        "APP_SETTING": "kept",
        "TELEMETRY_EXT_BUCKET": "my-bucket",
        "TELEMETRY_EXT_PREFIX": "team",
    }
    # and the role may write exactly where the extension will
    role = function["role"].rsplit("/", 1)[-1]
    document = function["iam"].get_role_policy(RoleName=role, PolicyName="telemetry-ext")["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"][0]["Resource"] == "arn:aws:s3:::my-bucket/team/*"
    assert "attached:" in capsys.readouterr().out


def test_a_dry_run_changes_nothing(function: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(attach_argv(function, "--bucket", "my-bucket", "--dry-run")) == 0
    configuration = function["client"].get_function_configuration(FunctionName=function["name"])
    assert [item["Arn"] for item in configuration["Layers"]] == [function["other"], function["ours"][0]]
    assert "dry run: nothing was changed" in capsys.readouterr().out


def test_a_function_without_a_bucket_setting_is_refused(
    function: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(attach_argv(function)) == 2
    assert "TELEMETRY_EXT_BUCKET is required" in capsys.readouterr().err


CONFIGURATION = {"FunctionName": "f", "Architectures": ["x86_64"], "Layers": [], "Role": "arn:aws:iam::1:role/r"}
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:telemetry-ext-native-arm64:3"


@pytest.mark.parametrize(
    ("configuration", "layer_info", "cause"),
    [
        (CONFIGURATION, {"CompatibleArchitectures": ["arm64"]}, "runs on x86_64"),
        ({**CONFIGURATION, "Runtime": "python3.11"}, {"CompatibleRuntimes": ["python3.12"]}, "runs python3.11"),
        ({**CONFIGURATION, "PackageType": "Image"}, {}, "COPY the layer's contents to /opt"),
        (
            {**CONFIGURATION, "Layers": [{"Arn": f"arn:aws:lambda:us-east-1:1:layer:l{n}:1"} for n in range(5)]},
            {},
            "Lambda allows 5",
        ),
    ],
)
def test_attach_refuses_what_would_break_the_function(
    configuration: dict[str, Any], layer_info: dict[str, Any], cause: str
) -> None:
    with pytest.raises(ToolError, match=cause):
        plan(configuration, LAYER, layer_info, {"TELEMETRY_EXT_BUCKET": "b-1"})
    with pytest.raises(ToolError, match="not a layer version ARN"):
        plan(CONFIGURATION, LAYER.rsplit(":", 1)[0], {}, {})


def test_a_java17_function_takes_the_native_layer_as_publish_lists_it(
    lambda_api: str, aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the native layer published with its default runtimes (no --runtimes), and a java17 function
    # (Amazon Linux 2, glibc 2.26: the native layer carries its own C library)
    client = boto3.client("lambda", region_name=REGION, endpoint_url=lambda_api)
    iam = boto3.client("iam", region_name=REGION, endpoint_url=lambda_api)
    published = ["publish", "--arch", "x86_64", "--zip", str(layer(tmp_path)), "--regions", REGION,
                 "--layer-name", "native-java", "--endpoint-url", lambda_api]  # fmt: skip
    assert main(published) == 0
    version = client.get_layer_version(LayerName="native-java", VersionNumber=1)
    arn = version["LayerVersionArn"]
    assert "java17" in version["CompatibleRuntimes"]
    role = iam.create_role(RoleName="java-role", AssumeRolePolicyDocument=ASSUME)["Role"]["Arn"]
    client.create_function(FunctionName="java-fn", Runtime="java17", Role=role, Handler="example.Handler::handle",
                           Code={"ZipFile": code()})  # fmt: skip
    # WHEN it is attached THEN it is accepted, and the function has the layer
    attach = [
        "attach",
        "--function",
        "java-fn",
        "--layer-arn",
        arn,
        "--bucket",
        "my-bucket",
        "--endpoint-url",
        lambda_api,
    ]
    assert main(attach) == 0, capsys.readouterr().err
    configuration = client.get_function_configuration(FunctionName="java-fn")
    assert [item["Arn"] for item in configuration["Layers"]] == [arn]
    # and a version listing only AL2023 runtimes, as native versions did before, is refused for it, saying why
    with pytest.raises(ToolError, match=r"runs java17; .* publish a version that lists java17"):
        plan({**CONFIGURATION, "Runtime": "java17"}, LAYER, {"CompatibleRuntimes": ["java21"]}, {})
