"""The SAM template: the layer, an example function with the layer, its least-privilege policy and the
extension's environment. Checked in as deploy/template.yaml (x86_64, native); `template --arch arm64` prints
the arm64 one. Its policy statements are built by policy.py's functions, with CloudFormation values in place
of strings, so the template and `policy` cannot drift apart (tests/tools/test_template.py resolves the
template's policy for given parameters and compares it with `function_policy`).
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from telemetry_tools import settings
from telemetry_tools.policy import VERSION, kms_statement, put_statement
from telemetry_tools.publish import LICENSE
from telemetry_tools.runtimes import NATIVE_RUNTIMES

NO_VALUE: Final = {"Ref": "AWS::NoValue"}
BUCKET_PATTERN: Final = r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$"
_SEGMENT: Final = r"[A-Za-z0-9_=-]+(\.[A-Za-z0-9_=-]+)*"
PREFIX_PATTERN: Final = rf"^({_SEGMENT}(/{_SEGMENT})*)?$"
"""Exactly the prefixes the extension keeps as given (settings.normalise_prefix leaves them unchanged)."""
KEY_ARN_PATTERN: Final = r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+)?$"
EXAMPLE_CODE: Final = "def handler(event, context):\n    return {'ok': True}\n"


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def if_(condition: str, then: object, otherwise: object) -> dict[str, list[object]]:
    return {"Fn::If": [condition, then, otherwise]}


def not_empty(parameter: str) -> dict[str, object]:
    return {"Fn::Not": [{"Fn::Equals": [ref(parameter), ""]}]}


def parameters() -> dict[str, Any]:
    return {
        "BucketName": {"Type": "String", "AllowedPattern": BUCKET_PATTERN,
                       "Description": "S3 bucket the extension writes to (it must exist)"},
        "Prefix": {"Type": "String", "Default": settings.DEFAULT_PREFIX, "AllowedPattern": PREFIX_PATTERN,
                   "Description": "key prefix before the partitions (no leading or trailing slash)"},
        "Sse": {"Type": "String", "Default": "", "AllowedValues": list(settings.SSE_MODES),
                "Description": "server-side encryption the extension asks for"},
        "KmsKeyArn": {"Type": "String", "Default": "", "AllowedPattern": KEY_ARN_PATTERN,
                      "Description": "KMS key ARN when Sse is aws:kms"},
        "ExpectedBucketOwner": {"Type": "String", "Default": "", "AllowedPattern": r"^(\d{12})?$",
                                "Description": "account id the bucket must belong to (empty: not checked)"},
        "BucketRegion": {"Type": "String", "Default": "", "AllowedPattern": r"^([a-z]{2}(-[a-z]+)+-\d{1,2})?$",
                         "Description": "the bucket's region when it is not the function's"},
        "MemorySize": {"Type": "Number", "Default": 128, "MinValue": 128, "MaxValue": 10240},
    }  # fmt: skip


def conditions() -> dict[str, Any]:
    return {
        "HasPrefix": not_empty("Prefix"),
        "HasSse": not_empty("Sse"),
        "HasOwner": not_empty("ExpectedBucketOwner"),
        "HasBucketRegion": not_empty("BucketRegion"),
        # with the key too (the rule below demands it), so that no linter resolves the key's ARN to ''
        "UseKms": {"Fn::And": [{"Fn::Equals": [ref("Sse"), "aws:kms"]}, not_empty("KmsKeyArn")]},
        "HasPutConditions": {"Fn::Or": [{"Condition": "HasSse"}, {"Condition": "HasOwner"}]},
    }


def rules() -> dict[str, Any]:
    assertion = {"Assert": not_empty("KmsKeyArn"), "AssertDescription": "KmsKeyArn is required when Sse is aws:kms"}
    return {"KmsNeedsKey": {"RuleCondition": {"Fn::Equals": [ref("Sse"), "aws:kms"]}, "Assertions": [assertion]}}


def policy_document() -> dict[str, Any]:
    objects = if_(
        "HasPrefix",
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/${Prefix}/*"},
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/*"},
    )
    put = put_statement(
        objects, if_("HasSse", ref("Sse"), NO_VALUE), if_("HasOwner", ref("ExpectedBucketOwner"), NO_VALUE)
    )
    put["Condition"] = if_("HasPutConditions", put["Condition"], NO_VALUE)
    service = if_(
        "HasBucketRegion",
        {"Fn::Sub": "s3.${BucketRegion}.amazonaws.com"},
        {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"},
    )
    kms = if_("UseKms", kms_statement(ref("KmsKeyArn"), service), NO_VALUE)
    return {"Version": VERSION, "Statement": [put, kms]}


def environment() -> dict[str, Any]:
    return {
        settings.BUCKET: ref("BucketName"),
        settings.PREFIX: ref("Prefix"),
        settings.SSE: ref("Sse"),
        settings.SSE_KMS_KEY_ID: ref("KmsKeyArn"),
        settings.EXPECTED_BUCKET_OWNER: ref("ExpectedBucketOwner"),
        settings.BUCKET_REGION: ref("BucketRegion"),
    }


def template(arch: str) -> dict[str, Any]:
    """The native flavour's template for `arch` (the interpreted flavour needs a matching Python runtime)."""
    name = f"telemetry-ext-native-{arch}"
    layer = {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "LayerName": name,
            "Description": f"telemetry-ext native {arch}: Telemetry API to S3",
            "ContentUri": f"../dist/{name}.zip",
            "CompatibleArchitectures": [arch],
            "CompatibleRuntimes": list(NATIVE_RUNTIMES),
            "LicenseInfo": LICENSE,
            "RetentionPolicy": "Retain",
        },
    }
    function = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Description": "example function with the telemetry-ext layer",
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "InlineCode": EXAMPLE_CODE,
            "Architectures": [arch],
            "MemorySize": ref("MemorySize"),
            "Timeout": 10,
            "Layers": [ref("TelemetryExtLayer")],
            "Environment": {"Variables": environment()},
            "Policies": [policy_document()],
        },
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"telemetry-ext layer ({arch}) with an example function writing its telemetry to S3",
        "Parameters": parameters(),
        "Rules": rules(),
        "Conditions": conditions(),
        "Resources": {"TelemetryExtLayer": layer, "ExampleFunction": function},
        "Outputs": {
            "LayerVersionArn": {"Value": ref("TelemetryExtLayer")},
            "FunctionName": {"Value": ref("ExampleFunction")},
        },
    }


def render(arch: str) -> str:
    header = (
        f"# Generated by `python -m telemetry_tools template --arch {arch}`; edit telemetry_tools/template.py\n"
        "# instead (tests/tools/test_template.py checks this file against it). Deploy:\n"
        "#   sam deploy --template-file deploy/template.yaml --guided --parameter-overrides BucketName=my-bucket\n"
    )
    body: str = yaml.safe_dump(template(arch), sort_keys=False, width=120)
    return header + body
