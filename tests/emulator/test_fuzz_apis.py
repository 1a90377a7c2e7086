"""The Runtime, Extensions and Telemetry APIs under fuzzed input, as RIE fuzzes its own (`lambda/rapi/*_fuzz_test.go`):
any method on any path with any headers and body, malformed JSON, huge and truncated bodies, broken HTTP. Every
request gets Lambda's answer at once (a route's own errors as `{"errorMessage", "errorType"}`; 404 for a path no API
has, 405 for a method a path does not take), never a 5xx, and the server answers the next request: nothing crashes
it or hangs it. The runtime's GET /next is left out: waiting there for an event is its job."""

from __future__ import annotations

import json
import re
import socket
import string
from collections.abc import Iterator
from typing import Final

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lambda_emulator.state.runtime import MAX_PAYLOAD_BYTES, Invocation
from tests.emulator.fuzz_server import ANSWER_S, EXTERNAL, FuzzServer, fuzz_server

NEXT: Final = "/2018-06-01/runtime/invocation/next"
ROUTES: Final = [
    ("GET", NEXT),
    ("POST", "/2018-06-01/runtime/invocation/{id}/response"),
    ("POST", "/2018-06-01/runtime/invocation/{id}/error"),
    ("POST", "/2018-06-01/runtime/init/error"),
    ("GET", "/2018-06-01/runtime/restore/next"),
    ("POST", "/2018-06-01/runtime/restore/error"),
    ("POST", "/2020-01-01/extension/register"),
    ("GET", "/2020-01-01/extension/event/next"),
    ("POST", "/2020-01-01/extension/init/error"),
    ("POST", "/2020-01-01/extension/exit/error"),
    ("PUT", "/2022-07-01/telemetry"),
    ("PUT", "/2020-08-15/logs"),
    ("GET", "/2021-04-23/credentials"),
]
PATTERNS: Final = [(method, re.compile("^" + path.replace("{id}", "[^/]+") + "$")) for method, path in ROUTES]
ROUTE_STATUSES: Final = {200, 202, 400, 403, 404, 410, 413}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

segment = st.text(string.ascii_letters + string.digits + "-._~", min_size=1, max_size=12)
paths = st.one_of(
    st.sampled_from([path for _, path in ROUTES]).flatmap(lambda p: segment.map(lambda s: p.replace("{id}", s))),
    st.lists(segment, min_size=0, max_size=5).map(lambda parts: "/" + "/".join(parts)),
    st.sampled_from([path for _, path in ROUTES]).flatmap(lambda p: segment.map(lambda s: f"{p}/{s}")),
)
STANDARD: Final = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE")
methods = st.sampled_from([*STANDARD, "FUZZ", "get"])
header_names = st.sampled_from([
    "Lambda-Extension-Name", "Lambda-Extension-Identifier", "Lambda-Extension-Accept-Feature",
    "Lambda-Extension-Function-Error-Type", "Lambda-Runtime-Function-Error-Type", "Authorization", "Content-Type",
    "X-Fuzz",
])  # fmt: skip
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
json_bodies = json_values.map(lambda value: json.dumps(value).encode())  # integers beyond 64 bits too


def shaped(*keys: str) -> st.SearchStrategy[bytes]:
    """JSON objects with some of an API's own keys, each holding any JSON value (where a handler's checks live)."""
    return st.fixed_dictionaries({}, optional={key: json_values for key in keys}).map(lambda v: json.dumps(v).encode())


REGISTER_BODIES: Final = shaped("events", "configurationKeys")
SUBSCRIBE_BODIES: Final = st.one_of(
    shaped("schemaVersion", "types", "destination", "buffering"),
    st.fixed_dictionaries({
        "schemaVersion": st.sampled_from(["2022-07-01", "2022-12-13", "2025-01-29"]) | json_values,
        "types": st.lists(st.sampled_from(["platform", "function", "extension"]) | json_values, max_size=3),
        "destination": st.fixed_dictionaries({}, optional={
            "protocol": st.just("HTTP") | json_values, "URI": st.just("http://sandbox.localdomain:4243/") | json_values,
        }),
        "buffering": st.fixed_dictionaries({}, optional={"maxItems": json_values, "maxBytes": json_values,
                                                          "timeoutMs": json_values}),
    }).map(lambda v: json.dumps(v).encode()),
)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=2048),
    json_bodies,
    REGISTER_BODIES,
    SUBSCRIBE_BODIES,
    json_bodies.flatmap(lambda raw: st.integers(0, len(raw)).map(lambda cut: raw[:cut])),  # truncated JSON
)


@pytest.fixture(scope="module")
def server() -> Iterator[FuzzServer]:
    with fuzz_server() as running:
        yield running


def route_of(method: str, path: str) -> str:
    """ "route" if an API serves `method` at `path`, "method" if another method only, else "none"."""
    matching = [m for m, pattern in PATTERNS if pattern.match(path)]
    return "route" if method in matching else "method" if matching else "none"


def is_lambda_error(body: bytes) -> bool:
    parsed = orjson.loads(body)
    return isinstance(parsed, dict) and isinstance(parsed.get("errorType"), str) and "errorMessage" in parsed


@FUZZ
@given(method=methods, path=paths, query=st.none() | segment, headers=st.dictionaries(header_names, header_values,
       max_size=4), body=bodies)  # fmt: skip
def test_any_request_gets_lambdas_answer_at_once(
    server: FuzzServer, method: str, path: str, query: str | None, headers: dict[str, str], body: bytes
) -> None:
    assume(not (method == "GET" and path == NEXT))
    answer = server.request(method, path + (f"?{query}" if query else ""), body, headers)
    kind = route_of(method, path)
    if method not in STANDARD:  # the HTTP parser refuses a method it does not know before any route is looked at
        assert answer.status == 400, (method, path, answer)
    elif kind == "none":
        assert answer.status == 404, (method, path, answer)
    elif kind == "method":
        assert answer.status == 405, (method, path, answer)
    else:
        assert answer.status in ROUTE_STATUSES, (method, path, answer)
        if answer.status >= 400 and not path.startswith("/2021-04-23/credentials"):
            assert is_lambda_error(answer.body), (method, path, answer)
    assert server.alive()


@FUZZ
@given(name=st.text(string.ascii_letters, min_size=1, max_size=20), body=bodies | REGISTER_BODIES)
def test_a_registration_with_any_body_is_accepted_or_refused_with_403(name: str, body: bytes) -> None:
    with fuzz_server() as server:  # a new registry each time: ten registrations would fill it
        answer = server.request("POST", "/2020-01-01/extension/register", body, {"Lambda-Extension-Name": name})
    assert answer.status in (200, 403), answer
    if answer.status == 403:
        assert answer.json()["errorType"] in {"InvalidRequestFormat", "Extension.InvalidEventType"}, answer
    else:
        assert answer.json()["functionName"] == "fn" and answer.headers["lambda-extension-identifier"]


def test_malformed_json_is_refused_as_lambda_refuses_it() -> None:
    with fuzz_server() as server:
        malformed_json_is_refused(server)


@FUZZ
@given(body=SUBSCRIBE_BODIES | bodies)
def test_a_subscription_with_any_body_is_accepted_or_refused_with_validation_errors(body: bytes) -> None:
    with fuzz_server() as server:
        registered = server.request("POST", "/2020-01-01/extension/register", b"{}", {"Lambda-Extension-Name": "s"})
        identifier = registered.headers["lambda-extension-identifier"]
        answer = server.request("PUT", "/2022-07-01/telemetry", body, {"Lambda-Extension-Identifier": identifier})
    assert answer.status in (200, 400), answer
    assert answer.json() == "OK" if answer.status == 200 else answer.json()["errorType"] == "ValidationError"


def malformed_json_is_refused(server: FuzzServer) -> None:
    refused = server.request(
        "POST", "/2020-01-01/extension/register", b'{"events": ["INVOKE"', {"Lambda-Extension-Name": EXTERNAL}
    )
    assert (refused.status, refused.json()["errorType"]) == (403, "InvalidRequestFormat")
    registered = server.request(
        "POST", "/2020-01-01/extension/register", b"{}", {"Lambda-Extension-Name": "subscriber"}
    )
    identifier = registered.headers["lambda-extension-identifier"]
    for body in (b'{"schemaVersion": "2022-12-13",', b"\xff\xfe", b"[]", b'"text"'):
        answer = server.request("PUT", "/2022-07-01/telemetry", body, {"Lambda-Extension-Identifier": identifier})
        assert (answer.status, answer.json()["errorType"]) == (400, "ValidationError"), body


@FUZZ
@given(error_type=header_values, body=bodies)
def test_a_runtime_error_report_is_always_accepted(server: FuzzServer, error_type: str, body: bytes) -> None:
    """RIE's FuzzInitErrorHandler: any body and any error type header get 202 {"status": "OK"}."""
    answer = server.request("POST", "/2018-06-01/runtime/init/error", body,
                            {"Lambda-Runtime-Function-Error-Type": error_type})  # fmt: skip
    assert (answer.status, answer.json(), answer.headers["content-type"]) == (202, {"status": "OK"}, "application/json")


@FUZZ
@given(
    identifier=st.none() | header_values,
    path=st.sampled_from(
        ["GET /2020-01-01/extension/event/next", "POST /2020-01-01/extension/exit/error", "PUT /2022-07-01/telemetry"]
    ),
)
def test_any_extension_identifier_but_a_registered_one_gets_403(
    server: FuzzServer, identifier: str | None, path: str
) -> None:
    method, route = path.split()
    answer = server.request(
        method, route, b"{}", {} if identifier is None else {"Lambda-Extension-Identifier": identifier}
    )
    assert answer.status == 403 and answer.json()["errorType"] in {
        "Extension.MissingExtensionIdentifier", "Extension.InvalidExtensionIdentifier",
        "Extension.UnknownExtensionIdentifier",
    }  # fmt: skip


@pytest.mark.parametrize("size", [MAX_PAYLOAD_BYTES + 1, 16 * 1024 * 1024 + 1])
def test_a_response_over_the_payload_limit_is_refused_with_413(server: FuzzServer, size: int) -> None:
    # GIVEN an invocation the runtime holds
    invocation = Invocation("fuzz-request", b"{}", 0, "arn", "trace")

    async def hold() -> None:
        server.handlers.runtime.current = invocation

    server.call(hold())
    # WHEN its response is larger than Lambda takes (6 MB), or than the server reads at all (16 MiB)
    answer = server.request("POST", "/2018-06-01/runtime/invocation/fuzz-request/response", b"x" * size)
    # THEN 413 with Lambda's error, the invocation still unanswered, and the server answers the next request
    assert answer.status == 413 and answer.json()["errorType"] == "RequestEntityTooLarge", answer
    assert not invocation.done.is_set() and server.alive()


@pytest.mark.parametrize(("method", "path"), [(m, p.replace("{id}", "x")) for m, p in ROUTES if m != "GET"])
def test_a_truncated_body_neither_crashes_nor_hangs_the_server(server: FuzzServer, method: str, path: str) -> None:
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
    # a client that promised 1000 bytes, sent 10 and went away
    answer = server.exchange(head.encode() + b'{"events":')
    assert answer is None or answer.status < 500
    # and one that stalls with its request half sent does not hold anyone else up
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_S) as stalled:
        stalled.sendall(head.encode() + b'{"events":')
        assert server.alive()


@FUZZ
@given(raw=st.one_of(
    st.binary(max_size=512),
    st.sampled_from([
        b"POST /2020-01-01/extension/register HTTP/1.1\r\nLambda-Extension-Name\r\n\r\n",
        b"POST /2020-01-01/extension/register HTTP/1.1\r\nContent-Length: abc\r\n\r\n{}",
        b"POST /2020-01-01/extension/register HTTP/1.1\r\nContent-Length: -5\r\n\r\n{}",
        b"POST /2020-01-01/extension/register HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
        b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"GET /2020-01-01/extension/event/next HTTP/1.1\r\nLambda-Extension-Identifier: \xff\xfe\r\n\r\n",
        b"GET /2020-01-01/extension/event/next HTTP/1.1\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n",
        b"GET " + b"/a" * 5000 + b" HTTP/1.1\r\n\r\n",
        b"GET /2018-06-01/runtime/restore/next HTTP/9.9\r\n\r\n",
        b"\r\n\r\n\r\n",
    ]),
))  # fmt: skip
def test_broken_http_gets_a_4xx_or_a_closed_connection_and_the_server_carries_on(
    server: FuzzServer, raw: bytes
) -> None:
    answer = server.exchange(raw)
    assert answer is None or 400 <= answer.status < 500, answer
    assert server.alive()
