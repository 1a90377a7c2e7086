"""S3 on the wire, pure: where a key goes, the PUT's headers, and what each answer S3 gives means."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from telemetry_ext.errors import FatalSinkError, RetryableSinkError
from telemetry_ext.pipeline.s3 import Answer, PutOptions, endpoint_for, interpret, put_headers
from telemetry_ext.pipeline.tls import s3_roots
from tests.support.certs import make_server_certificate
from tests.support.fault_proxy import error_response


def answer(raw: bytes, *, create_only: bool = False) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return interpret(int(lines[0].split()[1]), headers, body, "k", create_only=create_only)


def test_virtual_hosted_style_on_aws_path_style_for_dotted_buckets_and_endpoint_overrides() -> None:
    virtual = endpoint_for("logs", "eu-west-1")
    assert (virtual.host, virtual.path("a/b c")) == ("logs.s3.eu-west-1.amazonaws.com", "/a/b%20c")
    dotted = endpoint_for("my.logs", "eu-west-1")
    assert (dotted.host, dotted.path("a")) == ("s3.eu-west-1.amazonaws.com", "/my.logs/a")
    china = endpoint_for("logs", "cn-north-1")
    assert china.host == "logs.s3.cn-north-1.amazonaws.com.cn" and china.tls
    local = endpoint_for("logs", "us-east-1", "http://127.0.0.1:9000")
    assert (local.host, local.path("a"), local.tls) == ("127.0.0.1:9000", "/logs/a", False)


def test_every_put_carries_its_checksum_and_the_chosen_protections() -> None:
    headers = put_headers(PutOptions("aws:kms", "key-1", "123456789012"), "c2hh", create_only=True)
    assert headers["x-amz-checksum-sha256"] == "c2hh" and headers["x-amz-sdk-checksum-algorithm"] == "SHA256"
    assert headers["x-amz-server-side-encryption"] == "aws:kms"
    assert headers["x-amz-server-side-encryption-aws-kms-key-id"] == "key-1"
    assert headers["x-amz-expected-bucket-owner"] == "123456789012" and headers["if-none-match"] == "*"
    assert "if-none-match" not in put_headers(PutOptions(), "c2hh", create_only=False)


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        (error_response(301, "PermanentRedirect", headers={"x-amz-bucket-region": "eu-west-1"}), "eu-west-1"),
        (error_response(301, "PermanentRedirect", Endpoint="logs.s3.ap-south-2.amazonaws.com"), "ap-south-2"),
        (error_response(307, "TemporaryRedirect", headers={"x-amz-bucket-region": "us-west-2"}), "us-west-2"),
        (error_response(400, "AuthorizationHeaderMalformed", Region="eu-central-1"), "eu-central-1"),
        (error_response(400, "IllegalLocationConstraintException", headers={"x-amz-bucket-region": "me-south-1"}),
         "me-south-1"),
    ],
    ids=["301-header", "301-endpoint", "307", "400-malformed", "400-location"],
)  # fmt: skip
def test_a_region_error_says_where_the_bucket_is(raw: bytes, region: str) -> None:
    result = answer(raw)
    assert result.verdict == "wrong-region" and result.region == region


def test_a_skewed_clock_is_read_from_server_time_or_the_date_header() -> None:
    iso = answer(error_response(403, "RequestTimeTooSkewed", ServerTime="2026-11-23T12:00:00Z"))
    assert iso.server_time == 1795435200.0
    dated = answer(error_response(403, "RequestTimeTooSkewed", headers={"Date": "Mon, 23 Nov 2026 12:00:00 GMT"}))
    assert dated.server_time == 1795435200.0


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidToken", "TokenRefreshRequired", "InvalidAccessKeyId"])
def test_token_errors_ask_for_fresh_credentials(code: str) -> None:
    assert answer(error_response(400, code)).verdict == "token"


def test_a_create_only_write_that_finds_its_object_is_done() -> None:
    assert answer(error_response(412, "PreconditionFailed"), create_only=True).verdict == "already-there"
    with pytest.raises(FatalSinkError):
        answer(error_response(412, "PreconditionFailed"))


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [(503, "SlowDown", RetryableSinkError), (500, "InternalError", RetryableSinkError),
     (409, "ConditionalRequestConflict", RetryableSinkError), (400, "RequestTimeout", RetryableSinkError),
     (403, "AccessDenied", FatalSinkError), (404, "NoSuchBucket", FatalSinkError)],
)  # fmt: skip
def test_other_refusals_are_classified_by_whether_they_may_pass(status: int, code: str, error: type) -> None:
    with pytest.raises(error, match=code):
        answer(error_response(status, code))


def test_only_s3s_roots_are_picked_from_a_bundle(tmp_path: Path) -> None:
    names = ["Amazon Root CA 1", "Some Other Root", "Starfield Services Root Certificate Authority - G2", "Amazon X"]
    bundle = b"".join(make_server_certificate(tmp_path / str(n), ["h"], ca_name=name).ca.read_bytes()
                      for n, name in enumerate(names))  # fmt: skip
    (tmp_path / "bundle.pem").write_bytes(bundle)
    picked = s3_roots(str(tmp_path / "bundle.pem"))  # DER, concatenated
    context = ssl.create_default_context(cadata=picked)
    assert sorted(c["subject"][0][0][1] for c in context.get_ca_certs()) == [
        "Amazon Root CA 1", "Starfield Services Root Certificate Authority - G2"]  # fmt: skip
