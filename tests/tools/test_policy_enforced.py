"""The generated policy is enough, and no more: the real extension writes under it to an S3 server that
enforces IAM (moto with auth on), and the same key is refused outside the prefix and for anything but PUT.

moto evaluates actions and resources, not conditions, so this runs the plain policy (no SSE, no owner)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.runtimes import SimulatedRuntime
from telemetry_tools import settings
from telemetry_tools.policy import function_policy
from tests.support.layers import SOURCE
from tests.support.s3 import ALLOW_ALL, REGION, free_port, moto_server_command
from tests.support.summary import parse_summary

pytestmark = pytest.mark.integration
BUCKET = "least-privilege"
PREFIX = "team/telemetry"
BOOTSTRAP = 6  # two users, their keys and their policies, created before auth is enforced


@pytest.fixture(scope="module")
def iam_s3() -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """(endpoint, admin keys, writer keys): the writer has only the generated policy."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP)}
    process = subprocess.Popen(moto_server_command(port), env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert process.stderr is not None
    for line in process.stderr:  # its own "Running on" line, not a sleep
        if b"Running on" in line:
            break
    threading.Thread(target=lambda: [None for _ in process.stderr or []], daemon=True).start()
    endpoint = f"http://127.0.0.1:{port}"
    destination = settings.Destination.from_env({settings.BUCKET: BUCKET, settings.PREFIX: PREFIX})
    keys = [
        _user(endpoint, name, document)
        for name, document in (
            ("admin", ALLOW_ALL),
            ("writer", orjson.dumps(function_policy(destination, REGION)).decode()),
        )
    ]
    _client(endpoint, keys[0]).create_bucket(Bucket=BUCKET)
    yield endpoint, keys[0], keys[1]
    process.terminate()
    process.wait(timeout=10)


def _user(endpoint: str, name: str, document: str) -> dict[str, str]:
    iam = boto3.client(
        "iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="telemetry", PolicyDocument=document)
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _client(endpoint: str, keys: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


async def test_the_extension_writes_everything_under_the_generated_policy(
    iam_s3: tuple[str, dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    endpoint, admin, writer = iam_s3
    # GIVEN the extension with only the generated policy's key
    env = {
        **SOURCE.env,
        **writer,
        "TELEMETRY_EXT_BUCKET": BUCKET,
        "TELEMETRY_EXT_PREFIX": PREFIX,
        "TELEMETRY_EXT_S3_ENDPOINT_URL": endpoint,
        "TELEMETRY_EXT_FLUSH_INTERVAL_MS": "0",
        "TELEMETRY_EXT_LISTENER_PORT": str(free_port()),
    }
    config = EmulatorConfig(runtime=SimulatedRuntime(), layer=SOURCE.layer(tmp_path), memory_mb=1769, env=env)
    async with Emulator(config) as emulator:
        # WHEN it runs through init, three invokes and a spindown
        await emulator.start()
        invokes = [await emulator.invoke(b'{"log_lines": 1}') for _ in range(3)]
        await emulator.shutdown()
        summary = parse_summary(line for p in emulator.extensions for line in p.output)
    # THEN every event was written, none refused
    assert [i.status for i in invokes] == ["success"] * 3
    assert summary["written"] == summary["received"] > 0 and summary["unwritten"] == 0
    keys = [o["Key"] for o in _client(endpoint, admin).list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert keys and all(key.startswith(PREFIX + "/function=") for key in keys)


@pytest.mark.parametrize(
    ("action", "key"),
    [("put", "elsewhere/x.ndjson.gz"), ("put", "team/telemetry-other/x"), ("get", PREFIX + "/x"), ("list", "")],
)
def test_the_same_key_is_refused_outside_the_prefix_and_for_other_actions(
    iam_s3: tuple[str, dict[str, str], dict[str, str]], action: str, key: str
) -> None:
    endpoint, admin, writer = iam_s3
    _client(endpoint, admin).put_object(Bucket=BUCKET, Key=PREFIX + "/x", Body=b"x")
    client = _client(endpoint, writer)
    calls = {
        "put": lambda: client.put_object(Bucket=BUCKET, Key=key, Body=b"x"),
        "get": lambda: client.get_object(Bucket=BUCKET, Key=key),
        "list": lambda: client.list_objects_v2(Bucket=BUCKET),
    }
    with pytest.raises(ClientError) as refused:
        calls[action]()
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    client.put_object(Bucket=BUCKET, Key=PREFIX + "/allowed", Body=b"x")  # the key itself works
