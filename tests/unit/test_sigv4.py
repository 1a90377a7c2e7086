"""SigV4 against AWS's published S3 example ("GET Object", Signature Version 4 documentation)."""

from datetime import UTC, datetime

from telemetry_ext.pipeline.sigv4 import payload_hash, signed_headers, uri_path

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_the_documented_get_object_example_gives_the_documented_signature() -> None:
    headers = signed_headers(
        "GET",
        "examplebucket.s3.amazonaws.com",
        "/test.txt",
        {"range": "bytes=0-9"},
        EMPTY,
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        session_token=None,
        region="us-east-1",
        now=datetime(2013, 5, 24, tzinfo=UTC).timestamp(),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert headers["x-amz-date"] == "20130524T000000Z"


def test_the_session_token_is_sent_and_signed() -> None:
    headers = signed_headers(
        "PUT", "h", "/b/k", {}, payload_hash(b"x"), access_key="A", secret_key="S", session_token="T",
        region="eu-west-1", now=datetime(2026, 1, 1, tzinfo=UTC).timestamp(),
    )  # fmt: skip
    assert headers["x-amz-security-token"] == "T"
    assert "x-amz-security-token" in headers["Authorization"]


def test_key_characters_outside_the_unreserved_set_are_encoded_once() -> None:
    assert uri_path("bucket", "p/function=a b/x.gz") == "/bucket/p/function%3Da%20b/x.gz"
