"""Publishing: input validation (unit), the publish itself against moto's Lambda API (functional), and
scripts/publish.sh --dry-run on the built zip (integration: scripts/test.sh builds it first)."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from telemetry_tools import publish
from telemetry_tools.cli import main
from telemetry_tools.errors import ToolError
from telemetry_tools.runtimes import AL2, AL2023, NATIVE_RUNTIMES, RUNTIME_OS
from tests.support.layers import REPO
from tests.support.s3 import free_port
from tests.tools.zips import layer


def request(zip_path: Path, **changes: Any) -> publish.Request:
    values: dict[str, Any] = {"arch": "x86_64", "zip_path": zip_path, "regions": ["us-east-1"], **changes}
    return publish.Request(**values)


def test_every_runtime_the_tool_knows_is_a_lambda_runtime_identifier() -> None:
    model = botocore.session.get_session().get_service_model("lambda")
    assert set(RUNTIME_OS) <= set(model.shape_for("Runtime").enum)
    assert len(NATIVE_RUNTIMES) <= 15


def test_a_native_plan_lists_amazon_linux_2_runtimes_among_its_15(tmp_path: Path) -> None:
    # GIVEN a native zip that carries its C library WHEN it is planned with no --runtimes
    plan = publish.plan(request(layer(tmp_path), regions=["us-east-1", "eu-west-1", "us-east-1"]))
    # THEN it lists 15 runtimes: the AL2 ones AWS has not deprecated among them, and every AL2023 one that can
    # still take a layer (nodejs20.x's functions can no longer be updated)
    assert plan.runtimes == NATIVE_RUNTIMES and len(plan.runtimes) == 15 and plan.architectures == ("x86_64",)
    assert {"java17", "java11", "java8.al2", "python3.11"} <= set(plan.runtimes)
    assert {r for r, system in RUNTIME_OS.items() if system == AL2023} - set(plan.runtimes) == {"nodejs20.x"}
    assert {r for r in plan.runtimes if RUNTIME_OS[r] == AL2} == {"java17", "java11", "java8.al2", "python3.11"}
    assert plan.regions == ("us-east-1", "eu-west-1") and plan.layer_name == "telemetry-ext-native-x86_64"


def test_every_runtime_can_be_listed_for_a_native_zip_that_carries_its_c_library(tmp_path: Path) -> None:
    plan = publish.plan(request(layer(tmp_path), runtimes=["provided.al2", "python3.10", "nodejs20.x"]))
    assert plan.runtimes == ("provided.al2", "python3.10", "nodejs20.x")


def test_a_native_zip_without_its_c_library_lists_and_takes_amazon_linux_2023_runtimes_only(tmp_path: Path) -> None:
    # GIVEN a native zip built before the layer carried its C library (it needs GLIBC 2.34 from the host)
    old = layer(tmp_path, carries_libc=False)
    # THEN its default is the AL2023 runtimes, and an AL2 runtime is refused, saying why and what to do
    assert {RUNTIME_OS[r] for r in publish.plan(request(old)).runtimes} == {AL2023}
    with pytest.raises(ToolError, match=r"java17 runs on Amazon Linux 2; .* needs GLIBC 2\.34 .* rebuild it"):
        publish.plan(request(old, runtimes=["java17"]))


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
        ({"license": ""}, "--license"),
        ({"license": "x" * 513}, "--license"),
        ({"regions": []}, "--regions"),
        ({"regions": ["moon-1"]}, "not AWS region names"),
        ({"layer_name": "bad name"}, "--layer-name"),
        ({"zip_path": Path("/nonexistent.zip")}, "no such file"),
    ],
)
def test_bad_input_is_refused_before_any_call(tmp_path: Path, changes: dict[str, Any], cause: str) -> None:
    with pytest.raises(ToolError, match=cause):
        publish.plan(request(**{"zip_path": layer(tmp_path), **changes}))


def test_an_interpreted_layer_refuses_a_runtime_of_another_python(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"python3\.11 only"):
        publish.plan(request(layer(tmp_path, flavour="interpreted"), runtimes=["python3.12"]))


def test_a_file_that_is_not_a_layer_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ToolError, match="not a zip"):
        publish.plan(request(tmp_path / "junk.zip"))
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as archive:
        archive.writestr("readme", "x")
    with pytest.raises(ToolError, match="not a telemetry-ext layer"):
        publish.plan(request(tmp_path / "empty.zip"))


def test_publish_makes_a_public_layer_version_per_region_and_prints_their_arns(
    lambda_api: str, aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an arm64 zip WHEN it is published in two regions, public
    zip_path = layer(tmp_path, "arm64")
    argv = [
        "publish",
        "--arch",
        "arm64",
        "--zip",
        str(zip_path),
        "--regions",
        "us-east-1,eu-west-1",
        "--public",
        "--runtimes",
        "provided.al2023,python3.13",
        "--endpoint-url",
        lambda_api,
        "--json",
        str(tmp_path / "out.json"),
    ]
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }
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
    # the built zip carries its C library: the plan lists the Amazon Linux 2 runtimes among its 15
    (runtimes,) = [line for line in result.stdout.splitlines() if line.startswith("runtimes")]
    assert all(name in runtimes for name in ("java17", "java11", "java8.al2", "python3.11", "provided.al2023"))
    assert "(15 of at most 15)" in runtimes
    # a zip of the other architecture is refused, from its ELF headers (not its name)
    wrong = [*command[:2], "arm64", "--zip", str(built), *command[3:]]
    refused = subprocess.run(wrong, capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode == 2 and "holds x86_64 binaries, not arm64" in refused.stderr
