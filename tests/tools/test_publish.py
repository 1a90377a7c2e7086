"""Publishing: input validation (unit), the publish itself against moto's Lambda API (functional), and
scripts/publish.sh --dry-run on the built zip (integration: scripts/test.sh builds it first)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.session
import pytest

from telemetry_tools import publish
from telemetry_tools.cli import main
from telemetry_tools.errors import ToolError
from telemetry_tools.runtimes import NATIVE_RUNTIMES, RUNTIME_OS
from tests.support.layers import REPO
from tests.support.s3 import free_port

ELF_MACHINE = {"x86_64": 62, "arm64": 183}


def fake_elf(arch: str) -> bytes:
    header = bytearray(b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00")
    header += ELF_MACHINE[arch].to_bytes(2, "little") + bytes(44)
    return bytes(header)


def layer(tmp_path: Path, arch: str = "x86_64", flavour: str = "native", python: str = "311") -> Path:
    """A small zip shaped like the build's: the launcher, and a binary or a CPython extension module."""
    path = tmp_path / f"{flavour}-{arch}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("extensions/telemetry-ext", "#!/bin/sh\n")
        if flavour == "native":
            archive.writestr("telemetry-ext/bin/telemetry-ext", fake_elf(arch))
        else:
            machine = "x86_64" if arch == "x86_64" else "aarch64"
            archive.writestr(
                f"telemetry-ext/python/orjson/orjson.cpython-{python}-{machine}-linux-gnu.so", fake_elf(arch)
            )
    return path


def request(zip_path: Path, **changes: object) -> publish.Request:
    values: dict[str, object] = {"arch": "x86_64", "zip_path": zip_path, "regions": ["us-east-1"], **changes}
    return publish.Request(**values)  # type: ignore[arg-type]


def test_every_runtime_the_tool_knows_is_a_lambda_runtime_identifier() -> None:
    model = botocore.session.get_session().get_service_model("lambda")
    assert set(RUNTIME_OS) <= set(model.shape_for("Runtime").enum)
    assert len(NATIVE_RUNTIMES) <= 15


def test_a_native_plan_defaults_to_every_al2023_runtime(tmp_path: Path) -> None:
    plan = publish.plan(request(layer(tmp_path), regions=["us-east-1", "eu-west-1", "us-east-1"]))
    assert plan.runtimes == NATIVE_RUNTIMES and plan.architectures == ("x86_64",)
    assert plan.regions == ("us-east-1", "eu-west-1") and plan.layer_name == "telemetry-ext-native-x86_64"


def test_an_interpreted_plan_takes_the_python_its_wheels_were_built_for(tmp_path: Path) -> None:
    plan = publish.plan(request(layer(tmp_path, "arm64", "interpreted", "312"), arch="arm64"))
    assert plan.runtimes == ("python3.12",) and plan.layer_name == "telemetry-ext-interpreted-arm64"


@pytest.mark.parametrize(
    ("changes", "cause"),
    [
        ({"arch": "arm65"}, "--arch"),
        ({"arch": "arm64"}, "holds x86_64 binaries, not arm64"),
        ({"runtimes": ["python3.12"] * 1 + [f"python3.{n}" for n in range(0, 16)]}, "at most 15"),
        ({"runtimes": ["python3.99"]}, "not a Lambda runtime identifier"),
        ({"runtimes": ["python3.11"]}, "Amazon Linux 2"),
        ({"runtimes": ["provided.al2"]}, "GLIBC 2.34"),
        ({"license": ""}, "--license"),
        ({"license": "x" * 513}, "--license"),
        ({"regions": []}, "--regions"),
        ({"regions": ["moon-1"]}, "not AWS region names"),
        ({"layer_name": "bad name"}, "--layer-name"),
        ({"zip_path": Path("/nonexistent.zip")}, "no such file"),
    ],
)
def test_bad_input_is_refused_before_any_call(tmp_path: Path, changes: dict[str, object], cause: str) -> None:
    with pytest.raises(ToolError, match=cause):
        publish.plan(request(**{"zip_path": layer(tmp_path), **changes}))


def test_an_interpreted_layer_refuses_a_runtime_of_another_python(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="python3.11 only"):
        publish.plan(request(layer(tmp_path, flavour="interpreted"), runtimes=["python3.12"]))


def test_a_file_that_is_not_a_layer_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ToolError, match="not a zip"):
        publish.plan(request(tmp_path / "junk.zip"))
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as archive:
        archive.writestr("readme", "x")
    with pytest.raises(ToolError, match="not a telemetry-ext layer"):
        publish.plan(request(tmp_path / "empty.zip"))


@pytest.fixture(scope="module")
def lambda_api() -> Iterator[str]:
    """moto's server (Lambda API) on loopback; it accepts any architecture or runtime, so the tool checks."""
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:  # its own "Running on" line, not a sleep
        if b"Running on" in line:
            break
    threading.Thread(target=lambda: [None for _ in process.stderr or []], daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": "/nonexistent"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)


def test_publish_makes_a_public_layer_version_per_region_and_prints_their_arns(
    lambda_api: str, aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an arm64 zip WHEN it is published in two regions, public
    zip_path = layer(tmp_path, "arm64")
    argv = ["publish", "--arch", "arm64", "--zip", str(zip_path), "--regions", "us-east-1,eu-west-1", "--public",
            "--runtimes", "provided.al2023,python3.13", "--endpoint-url", lambda_api, "--json", str(tmp_path / "out.json")]  # fmt: skip
    assert main(argv) == 0
    # THEN the table has one ARN per region, with its architectures and runtimes
    table = capsys.readouterr().out.split("layer version ARN")[1]
    for region in ("us-east-1", "eu-west-1"):
        row = next(line for line in table.splitlines() if line.startswith(region))
        assert f":lambda:{region}:" in row and ":layer:telemetry-ext-native-arm64:1" in row
        assert "arm64" in row and "provided.al2023,python3.13" in row and row.rstrip().endswith("yes")
        # and Lambda holds what the table says, public
        client = boto3.client("lambda", region_name=region, endpoint_url=lambda_api)
        version = client.get_layer_version(LayerName="telemetry-ext-native-arm64", VersionNumber=1)
        assert version["CompatibleArchitectures"] == ["arm64"] and version["LicenseInfo"] == "Apache-2.0"
        assert version["CompatibleRuntimes"] == ["provided.al2023", "python3.13"]
        policy = client.get_layer_version_policy(LayerName="telemetry-ext-native-arm64", VersionNumber=1)
        assert '"Principal":"*"' in policy["Policy"].replace(" ", "")
    assert (tmp_path / "out.json").read_text().count('"arn": "arn:aws:lambda:') == 2


def test_a_region_that_fails_is_reported_in_the_table_and_the_exit_code(
    aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    argv = [
        "publish",
        "--arch",
        "x86_64",
        "--zip",
        str(layer(tmp_path)),
        "--regions",
        "us-east-1",
        "--endpoint-url",
        closed,
    ]
    assert main(argv) == 1
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.integration
def test_the_script_dry_run_plans_the_built_zip_without_credentials(tmp_path: Path) -> None:
    built = REPO / "dist" / "telemetry-ext-native-x86_64.zip"
    assert built.exists(), "run scripts/build.sh --arch x86_64 --flavor native"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"AWS_CONFIG_FILE": "/nonexistent",
                                                                               "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}  # fmt: skip
    command = [
        str(REPO / "scripts" / "publish.sh"),
        "--arch",
        "x86_64",
        "--regions",
        "us-east-1,ap-southeast-2",
        "--dry-run",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "dry run: nothing was published" in result.stdout
    assert result.stdout.count("(dry run) telemetry-ext-native-x86_64") == 2
    # a zip of the other architecture is refused, from its ELF headers (not its name)
    wrong = [*command[:2], "arm64", "--zip", str(built), *command[3:]]
    refused = subprocess.run(wrong, capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode == 2 and "holds x86_64 binaries, not arm64" in refused.stderr
