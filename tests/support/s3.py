"""A real S3 server on loopback for the tests: moto_server with SigV4 authentication enforced.

moto checks signatures once IAM auth is on (`INITIAL_NO_AUTH_ACTION_COUNT`): the first five calls, which
create an IAM user, its access key and its policy, and a role for temporary credentials, pass
unauthenticated; every later request must be signed with that key (or with temporary credentials from
`session_credentials`, as the container credentials endpoint hands out), so a wrong secret gets 403
SignatureDoesNotMatch and an unknown session token is refused.
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import orjson
from botocore.config import Config

BOOTSTRAP_ACTIONS = 5
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/telemetry-ext-function"
TRUST_ACCOUNT = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/telemetry-ext"},'
    '"Action":"sts:AssumeRole"}]}'
)
ALLOW_ALL = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","sts:AssumeRole"],"Resource":"*"}]}'
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]

    def client(self, secret: str | None = None, endpoint: str | None = None) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=endpoint or self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret or self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )

    def session_credentials(self) -> tuple[str, str, str]:
        """Temporary credentials (key, secret, session token) of the test role, as STS issues them."""
        sts = boto3.client(
            "sts", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
        )  # fmt: skip
        issued = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="telemetry-ext-test")["Credentials"]
        return issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"]

    def new_bucket(self) -> str:
        name = f"telemetry-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def extension_env(self, bucket: str, endpoint: str | None = None, **settings: str) -> dict[str, str]:
        """What the extension needs to write to `bucket` here (through `endpoint`, e.g. a fault proxy), plus
        `settings` as TELEMETRY_EXT_<NAME> variables."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "TELEMETRY_EXT_BUCKET": bucket,
            "TELEMETRY_EXT_S3_ENDPOINT_URL": endpoint or self.endpoint,
            **{f"TELEMETRY_EXT_{name.upper()}": value for name, value in settings.items()},
        }

    def objects(self, bucket: str) -> dict[str, bytes]:
        client = self.client()
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def decode_object(body: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(metadata record, events) of one batch object."""
    header, *events = (orjson.loads(line) for line in gzip.decompress(body).splitlines())
    return header["record"], events


def moto_server_command(port: int) -> list[str]:
    """moto's server on loopback, run as a module of this interpreter (a script's shebang names the venv's
    python by its path, which the TLS tier's namespace may mask)."""
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def start_s3_server() -> S3Server:
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_ACTIONS), "MOTO_PORT": str(port)}
    process = subprocess.Popen(moto_server_command(port), env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert process.stderr is not None
    for raw in process.stderr:  # wait on the server's own "Running on" line, not on a sleep
        if b"Running on" in raw:
            break
    else:
        raise RuntimeError("moto_server exited before it was ready")
    _drain_in_background(process)
    endpoint = f"http://127.0.0.1:{port}"
    iam = boto3.client(
        "iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    iam.create_user(UserName="telemetry-ext")
    key = iam.create_access_key(UserName="telemetry-ext")["AccessKey"]
    iam.put_user_policy(UserName="telemetry-ext", PolicyName="s3", PolicyDocument=ALLOW_ALL)
    iam.create_role(RoleName=ROLE_ARN.rsplit("/", 1)[1], AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.put_role_policy(RoleName=ROLE_ARN.rsplit("/", 1)[1], PolicyName="s3", PolicyDocument=ALLOW_ALL)
    return S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], process)


def _drain_in_background(process: subprocess.Popen[bytes]) -> None:
    import threading

    def drain() -> None:
        assert process.stderr is not None
        for _ in process.stderr:
            pass

    threading.Thread(target=drain, daemon=True).start()
