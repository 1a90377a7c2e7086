"""The TLS tier: the whole extension on the production S3 path, both flavours.

No endpoint override: the extension connects with TLS to `<bucket>.s3.<region>.amazonaws.com:443` (or
`s3.<region>.amazonaws.com` for a bucket name with dots), verifies the certificate against the only CA bundle
there is, at the Amazon Linux path, and signs with the credentials Lambda gives: the environment's keys, or the
container credentials endpoint (SnapStart, Managed Instances). The bucket may live in another region than the
function. Everything runs in network and mount namespaces of the test's own (tests/support/aws_namespace.py).
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from lambda_emulator.layer import unpack_layer
from tests.support.aws_namespace import namespaces_available, run_in_aws_namespace, system_bundle
from tests.support.certs import make_server_certificate, s3_host_names
from tests.support.exactly_once import assert_every_event_once
from tests.support.layers import FLAVOURS, REPO, Flavour
from tests.support.summary import parse_summary

pytestmark = pytest.mark.integration
REGIONS = ["us-east-1", "eu-west-1"]


def run_tls_session(tmp_path: Path, flavour: Flavour, ca_name: str, **options: Any) -> dict[str, Any]:
    """Run one session in the namespaces, S3's certificate issued by a CA named `ca_name`; its result."""
    if not namespaces_available():
        pytest.fail("the TLS tier needs root and unshare (util-linux): network and mount namespaces")
    layer = flavour.layer(tmp_path)
    if layer.is_file():
        unpack_layer(layer, tmp_path / "opt")
        layer = tmp_path / "opt"
    certificate = make_server_certificate(tmp_path / "certs", s3_host_names(REGIONS), ca_name=ca_name)
    bucket = options["bucket"]
    hosts = {name: "127.0.0.1" for region in REGIONS for name in (f"s3.{region}.amazonaws.com",
                                                                   f"{bucket}.s3.{region}.amazonaws.com")}  # fmt: skip
    settings = {"layer": str(layer), "env": flavour.env, "certificate_chain": str(certificate.chain),
                "certificate_key": str(certificate.key), **options}  # fmt: skip
    (tmp_path / "options.json").write_bytes(orjson.dumps(settings))
    completed = run_in_aws_namespace(
        ["-m", "tests.support.aws_session", str(tmp_path / "options.json"), str(tmp_path / "result.json")],
        cwd=REPO,
        scratch=tmp_path / "ns",
        ca_bundle=system_bundle() + certificate.ca.read_bytes(),
        hosts=hosts,
        timeout_s=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    result: dict[str, Any] = orjson.loads((tmp_path / "result.json").read_bytes())
    # the execution environment's own mount namespace nests in the tier's: /opt, sandbox.localdomain
    assert result["environment"]["namespace"], result["environment"]
    return result


def check_every_event_once(result: dict[str, Any], notes: int = 0) -> dict[str, int]:
    """Every event Lambda emitted (but the extension's own lines) in S3 exactly once; the summary agrees; the
    extension printed nothing but the summary and `notes` lines."""
    stored = [e for events in result["objects"].values() for e in events]
    assert_every_event_once(result["emitted"], stored, result["objects"])
    assert [i["status"] for i in result["invokes"]] == ["success"] * len(result["invokes"])
    summary = parse_summary(result["output"])
    assert summary["written"] == summary["received"] == len(stored) and summary["unwritten"] == 0
    assert len([line for line in result["output"] if "telemetry-ext shutdown" not in line]) == notes
    return summary


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_a_bucket_in_another_region_with_container_credentials_over_tls(tmp_path: Path, flavour: Flavour) -> None:
    # GIVEN a function in us-east-1, its telemetry bucket in eu-west-1, credentials only from the container
    # endpoint, and the CA bundle only at /etc/pki/tls/certs/ca-bundle.crt
    bucket = f"central-logs-{uuid.uuid4().hex[:8]}"
    # (S3's certificate chains to a root named as Amazon's: the extension trusts S3's roots from the bundle)
    result = run_tls_session(tmp_path, flavour, "Amazon Root CA 1", bucket=bucket, bucket_region="eu-west-1",
                             credentials="container", settings={"flush_interval_ms": 0})  # fmt: skip
    # THEN every event is in S3 once, written with TLS at the bucket's own regional host after one redirect
    check_every_event_once(result, notes=1)
    (note,) = [line for line in result["output"] if "telemetry-ext shutdown" not in line]
    assert "is in eu-west-1, not us-east-1" in note and "TELEMETRY_EXT_BUCKET_REGION=eu-west-1" in note
    puts = [e for e in result["front_log"] if e["method"] == "PUT"]
    assert puts[0]["host"] == f"{bucket}.s3.us-east-1.amazonaws.com" and puts[0]["status"] == 301
    assert {e["host"] for e in puts[1:]} == {f"{bucket}.s3.eu-west-1.amazonaws.com"}
    assert all(e["status"] == 200 for e in puts[1:])
    # and the container endpoint was the source, asked with its token
    assert result["credential_requests"] and all(result["credential_requests"])


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_a_bucket_name_with_dots_path_style_with_the_environments_keys_over_tls(
    tmp_path: Path, flavour: Flavour
) -> None:
    bucket = f"logs.example.{uuid.uuid4().hex[:8]}"
    # (a CA of another name, as behind a TLS proxy: S3's roots alone do not verify it, the whole bundle does)
    result = run_tls_session(tmp_path, flavour, "Corporate Proxy CA", bucket=bucket, bucket_region="us-east-1",
                             credentials="env")  # fmt: skip
    check_every_event_once(result)
    puts = [e for e in result["front_log"] if e["method"] == "PUT"]
    assert {e["host"] for e in puts} == {"s3.us-east-1.amazonaws.com"}
    assert all(e["target"].startswith(f"/{bucket}/") and e["status"] == 200 for e in puts)


def test_the_tier_runs_a_project_venv_made_from_usr_bins_python_which_it_masks(tmp_path: Path) -> None:
    # GIVEN the project's interpreter in a venv made from /usr/bin's python3, as on a Debian machine
    debian = Path("/usr/bin/python3")
    assert debian.exists(), "this test needs /usr/bin/python3 with its venv module (Debian: python3-venv)"
    subprocess.run([debian, "-m", "venv", "--without-pip", tmp_path / "venv"], check=True)
    (site_packages,) = (tmp_path / "venv" / "lib").glob("python3.*/site-packages")
    (site_packages / "marker.py").write_text("WHERE = 'the venv'\n")
    # WHEN a script runs with it in the tier's namespaces
    code = "import marker, os, sys; print(marker.WHERE, sys.prefix, os.path.getsize(os.path.realpath(sys.argv[1])))"
    done = run_in_aws_namespace(["-c", code, str(debian)], cwd=tmp_path, scratch=tmp_path / "ns", ca_bundle=b"",
                                hosts={}, timeout_s=60, python=str(tmp_path / "venv" / "bin" / "python3"))  # fmt: skip
    # THEN it ran, with the venv's packages, while /usr/bin's python3 is masked (an empty file) for everything else
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["the", "venv", str(tmp_path / "ns" / "python"), "0"]
