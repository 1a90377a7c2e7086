"""Client of the Lambda Extensions API (2020-01-01) and Telemetry API (2022-07-01): lambda-api.md §1, §2.

Request bodies are built by pure functions; the wire shapes stay in TypedDicts at this edge and become
records (`Invoke`, `Shutdown`) inside.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from telemetry_ext import TYPE_CHECKING
from telemetry_ext.errors import LambdaApiError
from telemetry_ext.http.client import Connection, Response
from telemetry_ext.http.wire import HttpError
from telemetry_ext.record import Record

if TYPE_CHECKING:
    from typing import Final, Literal, NotRequired, TypedDict

    from telemetry_ext.config import Config

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
    wire: _NextEventWire = orjson.loads(body)
    kind = str(wire.get("eventType", "")).upper()
    deadline = int(wire.get("deadlineMs", 0))
    if kind == "INVOKE":
        return Invoke(request_id=str(wire.get("requestId", "")), deadline_ms=deadline)
    if kind == "SHUTDOWN":
        return Shutdown(reason=str(wire.get("shutdownReason", "")).lower(), deadline_ms=deadline)
    raise LambdaApiError("event/next", f"unknown eventType {kind!r}")


class ExtensionsApi:
    """One extension's calls, on one keep-alive connection to the API (calls are sequential). /next has no
    timeout: it may block for hours while the environment stays idle or frozen."""

    def __init__(self, runtime_api: str) -> None:
        host, _, port = runtime_api.rpartition(":")
        self._connection = Connection(host or runtime_api, int(port) if port.isdigit() else 80)
        self._id = ""

    async def register(self, name: str, events: list[str]) -> Registration:
        headers = {"Lambda-Extension-Name": name, "Content-Type": "application/json"}
        body = orjson.dumps({"events": events})
        response = await self._call("register", "POST", f"/{EXTENSION_API}/extension/register", headers, body, 200)
        self._id = response.headers.get(_ID_HEADER.lower(), "")
        if not self._id:
            raise LambdaApiError("register", f"no {_ID_HEADER} header in the answer")
        details = orjson.loads(response.body) if response.body else {}
        return Registration(
            extension_id=self._id,
            function_name=str(details.get("functionName", "")),
            function_version=str(details.get("functionVersion", "")),
        )

    async def subscribe(self, request: dict[str, object]) -> SubscribeOutcome:
        headers = {_ID_HEADER: self._id, "Content-Type": "application/json"}
        path = f"/{TELEMETRY_API}/telemetry"
        response = await self._call("telemetry subscribe", "PUT", path, headers, orjson.dumps(request), 200, 202)
        return "subscribed" if response.status == 200 else "not-supported"

    async def next_event(self, on_sent: Callable[[], None] | None = None) -> LifecycleEvent:
        """Block until the next event (no timeout). `on_sent` runs once the request is on the wire."""
        path = f"/{EXTENSION_API}/extension/event/next"
        response = await self._call("event/next", "GET", path, {_ID_HEADER: self._id}, b"", 200, on_sent=on_sent)
        return parse_next_event(response.body)

    async def init_error(self, error_type: str, message: str) -> None:
        await self._report_error("init/error", error_type, message)

    async def exit_error(self, error_type: str, message: str) -> None:
        await self._report_error("exit/error", error_type, message)

    async def _report_error(self, call: str, error_type: str, message: str) -> None:
        headers = {_ID_HEADER: self._id, "Lambda-Extension-Function-Error-Type": error_type}
        body = orjson.dumps({"errorType": error_type, "errorMessage": message})
        await self._call(call, "POST", f"/{EXTENSION_API}/extension/{call}", headers, body, 202, 200)

    async def _call(
        self,
        call: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        *statuses: int,
        on_sent: Callable[[], None] | None = None,
    ) -> Response:
        try:
            response = await self._connection.request(method, path, headers, body, on_sent)
        except HttpError as error:
            raise LambdaApiError(call, str(error)) from None
        if response.status not in statuses:
            detail = response.body[:300].decode("utf-8", "replace")
            raise LambdaApiError(call, f"HTTP {response.status}: {detail}")
        return response

    def close(self) -> None:
        self._connection.close()
