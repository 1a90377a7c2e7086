"""Client of the Lambda Extensions API (2020-01-01) and Telemetry API (2022-07-01): lambda-api.md §1, §2.

Request bodies are built by pure functions; the wire shapes stay in TypedDicts at this edge and become
records (`Invoke`, `Shutdown`) inside. Init's calls block (nothing else runs then); /next is answered on the
event loop (`NextEvents`), since the telemetry listener must be served while it waits.
"""

from __future__ import annotations

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.errors import LambdaApiError
from telemetry_ext.http.client import Connection, Response, request_head
from telemetry_ext.http.wire import Body, Framing, HttpError, take_head
from telemetry_ext.jsontext import JsonError, dumps, loads
from telemetry_ext.loop import FIRST
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Final, Literal, NotRequired, TypedDict

    from telemetry_ext.config import Config
    from telemetry_ext.http.client import Channel
    from telemetry_ext.loop import Loop

    class _NextEventWire(TypedDict):
        eventType: str
        deadlineMs: int
        requestId: NotRequired[str]
        shutdownReason: NotRequired[str]

    SubscribeOutcome = Literal["subscribed", "not-supported"]

EXTENSION_API: Final = "2020-01-01"
TELEMETRY_API: Final = "2022-07-01"
SCHEMA_VERSION: Final = "2022-12-13"
LMI_SCHEMA_VERSION: Final = "2025-01-29"
"""Required on Lambda Managed Instances (older versions are refused there); backward compatible."""
_ID_HEADER: Final = "Lambda-Extension-Identifier"
NEXT_PATH: Final = f"/{EXTENSION_API}/extension/event/next"
CALL_TIMEOUT_S: Final = 30.0
"""Register, subscribe and the error reports: Lambda answers at once (its init deadline is 10 s)."""


class Invoke(Record):
    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.request_id = request_id
        self.deadline_ms = deadline_ms


class Shutdown(Record):
    def __init__(self, reason: str, deadline_ms: int) -> None:
        self.reason = reason
        """Lower-cased: Lambda sends `spindown`, `timeout`, `failure` (the docs print them in capitals)."""
        self.deadline_ms = deadline_ms


LifecycleEvent = Invoke | Shutdown


class Registration(Record):
    def __init__(self, extension_id: str, function_name: str, function_version: str) -> None:
        self.extension_id = extension_id
        self.function_name = function_name
        self.function_version = function_version


def registration_events(shutdown_only: bool) -> list[str]:
    """Lambda Managed Instances refuse an INVOKE registration (lambda-api.md §1.5)."""
    return ["SHUTDOWN"] if shutdown_only else ["INVOKE", "SHUTDOWN"]


def subscription_request(config: Config) -> dict[str, object]:
    """The PUT /telemetry body. Lambda only delivers to `sandbox.localdomain`, whatever we bind to."""
    lmi = config.lambda_env.mode == "lambda-managed-instances"
    return {
        "schemaVersion": LMI_SCHEMA_VERSION if lmi else SCHEMA_VERSION,
        "types": list(config.types),
        "buffering": {
            "maxItems": config.buffer_max_items,
            "maxBytes": config.buffer_max_bytes,
            "timeoutMs": config.buffer_timeout_ms,
        },
        "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{config.listener_port}"},
    }


def parse_next_event(body: bytes) -> LifecycleEvent:
    try:
        wire: _NextEventWire = loads(body)
    except JsonError as error:
        raise LambdaApiError("event/next", f"not JSON: {error}") from None
    kind = str(wire.get("eventType", "")).upper()
    deadline = int(wire.get("deadlineMs", 0))
    if kind == "INVOKE":
        return Invoke(request_id=str(wire.get("requestId", "")), deadline_ms=deadline)
    if kind == "SHUTDOWN":
        return Shutdown(reason=str(wire.get("shutdownReason", "")).lower(), deadline_ms=deadline)
    raise LambdaApiError("event/next", f"unknown eventType {kind!r}")


class ExtensionsApi:
    """One extension's calls, on one keep-alive connection to the API. Register, subscribe and the error reports are
    blocking calls (init, and the end); /next is on the event loop (`NextEvents`), on the same connection."""

    def __init__(self, runtime_api: str) -> None:
        host, _, port = runtime_api.rpartition(":")
        self.connection = Connection(host or runtime_api, int(port) if port.isdigit() else 80)
        self.extension_id = ""

    def register(self, name: str, events: list[str]) -> Registration:
        headers = {"Lambda-Extension-Name": name, "Content-Type": "application/json"}
        body = dumps({"events": events})
        response = self._call("register", "POST", f"/{EXTENSION_API}/extension/register", headers, body, 200)
        self.extension_id = response.headers.get(_ID_HEADER.lower(), "")
        if not self.extension_id:
            raise LambdaApiError("register", f"no {_ID_HEADER} header in the answer")
        details = loads(response.body) if response.body else {}
        return Registration(
            extension_id=self.extension_id,
            function_name=str(details.get("functionName", "")),
            function_version=str(details.get("functionVersion", "")),
        )

    def subscribe(self, request: dict[str, object]) -> SubscribeOutcome:
        headers = {_ID_HEADER: self.extension_id, "Content-Type": "application/json"}
        path = f"/{TELEMETRY_API}/telemetry"
        response = self._call("telemetry subscribe", "PUT", path, headers, dumps(request), 200, 202)
        return "subscribed" if response.status == 200 else "not-supported"

    def next_request(self) -> bytes:
        return request_head("GET", NEXT_PATH, self.connection.host_header, {_ID_HEADER: self.extension_id}, 0)

    def init_error(self, error_type: str, message: str) -> None:
        self._report_error("init/error", error_type, message)

    def exit_error(self, error_type: str, message: str) -> None:
        self._report_error("exit/error", error_type, message)

    def _report_error(self, call: str, error_type: str, message: str) -> None:
        headers = {_ID_HEADER: self.extension_id, "Lambda-Extension-Function-Error-Type": error_type}
        body = dumps({"errorType": error_type, "errorMessage": message})
        self._call(call, "POST", f"/{EXTENSION_API}/extension/{call}", headers, body, 202, 200)

    def _call(
        self, call: str, method: str, path: str, headers: dict[str, str], body: bytes, *statuses: int
    ) -> Response:
        try:
            response = self.connection.request(method, path, headers, body, CALL_TIMEOUT_S)
        except HttpError as error:
            raise LambdaApiError(call, str(error)) from None
        except TimeoutError as error:
            raise LambdaApiError(call, str(error)) from None
        if response.status not in statuses:
            detail = response.body[:300].decode("utf-8", "replace")
            raise LambdaApiError(call, f"HTTP {response.status}: {detail}")
        return response

    def close(self) -> None:
        self.connection.close()


class NextEvents:
    """/next on the event loop: the request goes out at once (`request`), the answer is read as it arrives (the
    NEXT wake-up) and handed to `on_event`. /next has no timeout: it may block for hours while the environment
    stays idle or frozen. A connection that the API closed before answering is opened again and asked again, once
    per request."""

    def __init__(self, api: ExtensionsApi, loop: Loop, on_event: Callable[[LifecycleEvent], None]) -> None:
        self._api = api
        self._loop = loop
        self._on_event = on_event
        self._channel: Channel | None = None
        self._request = b""
        self._body: Body | None = None
        self._status = 0
        self._retried = False

    def request(self) -> None:
        """Send /next: a request of ~150 bytes, made once, sent on the non-blocking socket in one call (it fits in
        an empty send buffer; if the kernel took less, the rest is sent waiting)."""
        channel = self._channel or self._open()
        self._body, self._status = None, 0
        try:
            sent = channel.sock.send(self._request)
            if sent < len(self._request):
                channel.sock.settimeout(CALL_TIMEOUT_S)
                channel.sock.sendall(self._request[sent:])
                channel.sock.setblocking(False)
        except OSError as error:  # the API closed the kept-alive connection: ask again on a new one
            if self._retried:
                raise LambdaApiError("event/next", str(error)) from None
            self._reconnect()

    def _open(self) -> Channel:
        channel = self._channel = self._api.connection.open_channel()
        channel.sock.setblocking(False)
        self._request = self._api.next_request()
        self._loop.watch(channel.fd, self._on_readable, FIRST)
        return channel

    def _on_readable(self) -> None:
        channel = self._channel
        assert channel is not None
        try:
            data = channel.sock.recv(65_536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._reconnect()
            return
        channel.buffer += data
        event = self._answer(channel)
        if event is not None:
            self._retried = False
            self._on_event(event)

    def _answer(self, channel: Channel) -> LifecycleEvent | None:
        if self._body is None:
            head = take_head(channel.buffer)
            if head is None:
                return None
            framing = Framing(head)
            start = framing.start
            self._status = int(start[1]) if len(start) > 1 and start[1].isdigit() else 0
            self._body = Body(framing, until_close=True)
        if not self._body.take(channel.buffer, False):
            return None
        body, self._body = self._body.value, None
        if self._status != 200:
            detail = body[:300].decode("utf-8", "replace")
            raise LambdaApiError("event/next", f"HTTP {self._status}: {detail}")
        return parse_next_event(body)

    def _reconnect(self) -> None:
        """The API closed the connection before answering /next: ask again on a new one (once)."""
        if self._retried:
            raise LambdaApiError("event/next", "the connection was closed before an answer, twice")
        self._retried = True
        self.close()
        self._api.connection.close()
        self.request()

    def close(self) -> None:
        if self._channel is not None:
            self._loop.forget(self._channel.fd)
            self._channel = None
