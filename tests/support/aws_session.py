"""One function session on the production S3 path, run inside `run_in_aws_namespace` (aws_namespace.py).

    python -m tests.support.aws_session OPTIONS.json RESULT.json

It starts moto (SigV4 on), an S3 front on port 443 that serves TLS on S3's real host names and answers for the
bucket's region as S3 does (fault_proxy.py, s3_rules.py), optionally a container credentials endpoint, then the
emulator with the extension's layer, with no endpoint override: the extension finds S3 as it does on Lambda.
It writes what a test or a benchmark needs: the records, every event emitted and stored, the front's log.
"""

from __future__ import annotations

import asyncio
import fcntl
import socket
import ssl
import struct
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import orjson

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.state.measurements import to_json
from lambda_emulator.state.runtimes import AwsLambdaRic, RuntimeSpec, SimulatedRuntime
from tests.support.credentials_server import CredentialsEndpoint, serving
from tests.support.fault_proxy import FaultProxy
from tests.support.s3 import REGION, S3Server, decode_object, start_s3_server
from tests.support.s3_rules import BucketRegions

NO_PYTHON_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HANDLER = Path(__file__).resolve().parents[1] / "handlers" / "header_counter.py"


def loopback_up() -> None:
    """A new network namespace starts with `lo` down (no iproute2 needed: the ioctl `ip link set lo up` makes)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(probe, siocgifflags, request))[1]
        fcntl.ioctl(probe, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))


def latency_profile(name: str) -> Any:
    """`s3-50ms`: each PUT answered after 50 ms, one in twenty after 500 ms (S3's tail)."""
    if name == "none":
        return None
    counter = iter(range(1, 10**9))

    def delay(method: str) -> float:
        if method != "PUT":
            return 0.0
        return 0.5 if next(counter) % 20 == 0 else 0.05

    return delay


def create_bucket(s3: S3Server, bucket: str, region: str) -> None:
    client = s3.client()
    if region == REGION:
        client.create_bucket(Bucket=bucket)
    else:
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


async def run(options: dict[str, Any]) -> dict[str, Any]:
    loopback_up()
    s3 = start_s3_server()
    try:
        return await _session(options, s3)
    finally:
        s3.stop()


async def _session(options: dict[str, Any], s3: S3Server) -> dict[str, Any]:
    bucket = options["bucket"]
    create_bucket(s3, bucket, options["bucket_region"])
    moto_port = int(s3.endpoint.rsplit(":", 1)[1])
    if options.get("tls", True):
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(options["certificate_chain"], options["certificate_key"])
        front = FaultProxy("127.0.0.1", moto_port, host="127.0.0.1", port=443, tls=tls).start()
    else:  # the plain-HTTP path the other tests use: an endpoint override, no TLS
        front = FaultProxy("127.0.0.1", moto_port).start()
    front.rules.append(BucketRegions({bucket: options["bucket_region"]}))
    front.latency = latency_profile(options.get("latency", "none"))
    async with AsyncExitStack() as stack:
        env = {
            "TELEMETRY_EXT_BUCKET": bucket,
            "PATH": NO_PYTHON_PATH,
            **{f"TELEMETRY_EXT_{k.upper()}": str(v) for k, v in options.get("settings", {}).items()},
            **({} if options.get("tls", True) else {"TELEMETRY_EXT_S3_ENDPOINT_URL": front.endpoint}),
            **options.get("env", {}),
        }
        if "TELEMETRY_EXT_PYTHON" in env:  # the interpreted flavour's: this interpreter, as the namespace shows it
            env["TELEMETRY_EXT_PYTHON"] = sys.executable
        credentials: CredentialsEndpoint | None = None
        if options["credentials"] == "container":
            credentials = await stack.enter_async_context(serving(CredentialsEndpoint(s3.session_credentials, "t0k")))
            env |= {"AWS_CONTAINER_CREDENTIALS_FULL_URI": credentials.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "t0k"}
        else:
            env |= {"AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": s3.secret_key}
        result = await _emulate(options, env)
    front.stop()
    objects = s3.objects(bucket)
    result |= {
        "objects": {key: decode_object(body)[1] for key, body in objects.items()},
        "metadata": [decode_object(body)[0] for body in objects.values()],
        "front_log": [{"at": e.at, "method": e.method, "host": e.host, "target": e.target, "status": e.status}
                      for e in front.log],
        "credential_requests": credentials.requests if credentials else [],
    }  # fmt: skip
    return result


async def _emulate(options: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    runtime: RuntimeSpec = AwsLambdaRic(HANDLER) if options.get("runtime") == "awslambdaric" else SimulatedRuntime()
    if options.get("runtime") == "awslambdaric":
        env["SLEEP_MS"] = str(options.get("sleep_ms", 20))
    config = EmulatorConfig(
        runtime=runtime,
        layer=Path(options["layer"]),
        memory_mb=options.get("memory_mb", 1769),
        timeout_s=options.get("timeout_s", 5.0),
        env=env,
        region=options.get("region", REGION),
        function_name=options.get("function_name", "tls-function"),
    )
    payload = options.get("payload", '{"log_lines": 3, "sleep_ms": 20, "headers": {"accept": "*/*"}}').encode()
    async with Emulator(config) as emulator:
        init = await emulator.start()
        invokes = []
        for _ in range(options.get("invocations", 5)):
            invokes.append(await emulator.invoke(payload))
            if options.get("gap_s"):
                await asyncio.sleep(options["gap_s"])  # frozen between invokes, as an idle function is
        shutdown = await emulator.shutdown()
        return {
            "init": to_json(init),
            "invokes": [to_json(i) for i in invokes],
            "shutdown": to_json(shutdown),
            "shutdown_sent_at": time.time() - shutdown.duration_ms / 1000,
            "emitted": list(emulator.telemetry.emitted),
            "output": [line for p in emulator.extensions for line in p.output],
            "environment": emulator.isolation.describe(),
        }


def main(argv: list[str]) -> int:
    options = orjson.loads(Path(argv[1]).read_bytes())
    result = asyncio.run(run(options))
    Path(argv[2]).write_bytes(orjson.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
