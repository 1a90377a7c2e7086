"""Least-privilege IAM policies: the function's (what the extension needs to write) and the publisher's.

The function's policy follows the extension's settings (telemetry_tools/settings.py):
- `s3:PutObject` on `arn:<partition>:s3:::<bucket>/<prefix>/*` and nothing else: the extension never lists,
  reads or deletes (each batch is one PUT, retried under the same key);
- with `TELEMETRY_EXT_SSE` set, only PUTs that ask for that encryption (`s3:x-amz-server-side-encryption`),
  which is exactly the header the extension sends; with `TELEMETRY_EXT_EXPECTED_BUCKET_OWNER`, only buckets of
  that account (`s3:ResourceAccount`);
- with `aws:kms`, `kms:GenerateDataKey` on that key through S3 only (`kms:ViaService`). A single-part PUT needs
  no `kms:Decrypt` (that is for reading and for multipart uploads, which the extension does not make). IAM
  cannot grant a key by its alias, so an alias is refused with a message asking for the key's ARN.

The publisher's policy is what `publish` calls: PublishLayerVersion on the named layers and, for `--public`,
AddLayerVersionPermission on their versions (OpenTelemetry's publishing role is scoped the same way).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from telemetry_tools.errors import ToolError
from telemetry_tools.settings import SSE_KMS_KEY_ID, Destination, is_region, partition

VERSION: Final = "2012-10-17"
PUT_ACTIONS: Final = ("s3:PutObject",)
KMS_ACTIONS: Final = ("kms:GenerateDataKey",)
PUBLISH_ACTIONS: Final = ("lambda:PublishLayerVersion",)
PUBLIC_ACTIONS: Final = ("lambda:AddLayerVersionPermission", "lambda:GetLayerVersion")
_KEY_ARN: Final = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_KEY_ID: Final = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_ACCOUNT: Final = re.compile(r"^\d{12}$")
_LAYER_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]{1,140}$")

Statement = dict[str, Any]


def function_policy(destination: Destination, region: str = "", account: str = "") -> dict[str, Any]:
    """The policy a function with the layer needs. `region` (the function's) stands in for the bucket's
    region when TELEMETRY_EXT_BUCKET_REGION is not set, as it does in the extension; `account` is needed only
    to turn a bare KMS key id into its ARN."""
    bucket_region = destination.bucket_region or region
    if bucket_region and not is_region(bucket_region):
        raise ToolError(f"--region: {bucket_region!r} is not an AWS region name")
    arn_partition = partition(bucket_region)
    objects = f"arn:{arn_partition}:s3:::{destination.bucket}/{destination.key_root}*"
    statements = [put_statement(objects, destination.sse, destination.expected_bucket_owner)]
    if destination.sse == "aws:kms":
        key_arn = kms_key_arn(destination.kms_key_id, bucket_region, account, arn_partition)
        statements.append(kms_statement(key_arn, via_service(bucket_region)))
    return {"Version": VERSION, "Statement": statements}


def put_statement(resource: object, sse: object = "", owner: object = "") -> Statement:
    """Allow PutObject on `resource`; `sse`/`owner` (strings or CloudFormation values) add conditions."""
    statement: Statement = {"Sid": "WriteTelemetryBatches", "Effect": "Allow", "Action": list(PUT_ACTIONS)}
    statement["Resource"] = resource
    conditions: dict[str, object] = {}
    if sse:
        conditions["s3:x-amz-server-side-encryption"] = sse
    if owner:
        conditions["s3:ResourceAccount"] = owner
    if conditions:
        statement["Condition"] = {"StringEquals": conditions}
    return statement


def kms_statement(key_arn: object, service: object) -> Statement:
    operator = "StringLike" if isinstance(service, str) and "*" in service else "StringEquals"
    return {
        "Sid": "EncryptTelemetryBatches",
        "Effect": "Allow",
        "Action": list(KMS_ACTIONS),
        "Resource": key_arn,
        "Condition": {operator: {"kms:ViaService": service}},
    }


def via_service(region: str) -> str:
    return f"s3.{region}.amazonaws.com" if region else "s3.*.amazonaws.com"


def kms_key_arn(key: str, region: str, account: str, arn_partition: str) -> str:
    if _KEY_ARN.match(key):
        return key
    if key.startswith("alias/") or ":alias/" in key:
        raise ToolError(f"{SSE_KMS_KEY_ID}: {key!r} is an alias; IAM grants keys by ARN: give the key's ARN")
    if not _KEY_ID.match(key):
        raise ToolError(f"{SSE_KMS_KEY_ID}: {key!r} is neither a KMS key ARN nor a key id")
    if not region or not _ACCOUNT.match(account):
        raise ToolError(f"{SSE_KMS_KEY_ID} is a bare key id: give --region and --account, or the key's ARN")
    return f"arn:{arn_partition}:kms:{region}:{account}:key/{key}"


def publisher_policy(layer_names: Sequence[str], account: str, regions: Sequence[str] = ()) -> dict[str, Any]:
    """What `publish` needs for these layer names in `account` (every region unless `regions` is given)."""
    if not _ACCOUNT.match(account):
        raise ToolError(f"--account: {account!r} is not a 12-digit AWS account id")
    bad = [name for name in layer_names if not _LAYER_NAME.match(name)]
    if not layer_names or bad:
        raise ToolError(f"--layer-name: {', '.join(bad) or 'none given'}: give names of letters, digits, - and _")
    for region in regions:
        if not is_region(region):
            raise ToolError(f"--regions: {region!r} is not an AWS region name")
    places = [(partition(r), r) for r in regions] or [("aws", "*")]
    layers = [f"arn:{p}:lambda:{r}:{account}:layer:{name}" for p, r in places for name in layer_names]
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "PublishLayerVersions", "Effect": "Allow", "Action": list(PUBLISH_ACTIONS), "Resource": layers},
            {
                "Sid": "ShareLayerVersions",
                "Effect": "Allow",
                "Action": list(PUBLIC_ACTIONS),
                "Resource": [f"{layer}:*" for layer in layers],
            },
        ],
    }
