"""Client of the Lambda Extensions API (2020-01-01) and Telemetry API (2022-07-01): lambda-api.md §1, §2.

Request bodies are built by pure functions; the wire shapes stay in TypedDicts at this edge and become
frozen dataclasses (`Invoke`, `Shutdown`) inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, NotRequired, TypedDict

import aiohttp
import orjson

from telemetry_ext.config import Config
from telemetry_ext.errors import LambdaApiError

EXTENSION_API: Final = "2020-01-01"
TELEMETRY_API: Final = "2022-07-01"
SCHEMA_VERSION: Final = "2022-12-13"
_ID_HEADER: Final = "Lambda-Extension-Identifier"


class _NextEventWire(TypedDict):
    eventType: str
    deadlineMs: int
    requestId: NotRequired[str]
    shutdownReason: NotRequired[str]


@dataclass(frozen=True, slots=True)
class Invoke:
    request_id: str
    deadline_ms: int


@dataclass(frozen=True, slots=True)
class Shutdown:
    reason: str
    """Lower-cased: Lambda sends `spindown`, `timeout`, `failure` (the docs print them in capitals)."""
    deadline_ms: int


LifecycleEvent = Invoke | Shutdown


@dataclass(frozen=True, slots=True)
class Registration:
    extension_id: str
    function_name: str
    function_version: str


def subscription_request(config: Config) -> dict[str, object]:
    """The PUT /telemetry body. Lambda only delivers to `sandbox.localdomain`, whatever we bind to."""
    return {
        "schemaVersion": SCHEMA_VERSION,
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


SubscribeOutcome = Literal["subscribed", "not-supported"]


class ExtensionsApi:
    """One extension's calls. `session` must have no total timeout: /next may block for hours."""

    def __init__(self, session: aiohttp.ClientSession, runtime_api: str) -> None:
        self._session = session
        self._base = f"http://{runtime_api}"
        self._id = ""

    async def register(self, name: str) -> Registration:
        url = f"{self._base}/{EXTENSION_API}/extension/register"
        headers = {"Lambda-Extension-Name": name, "Content-Type": "application/json"}
        body = orjson.dumps({"events": ["INVOKE", "SHUTDOWN"]})
        async with self._session.post(url, data=body, headers=headers) as response:
            payload = await _expect(response, "register", 200)
        self._id = response.headers.get(_ID_HEADER, "")
        if not self._id:
            raise LambdaApiError("register", f"no {_ID_HEADER} header in the answer")
        details = orjson.loads(payload) if payload else {}
        return Registration(
            extension_id=self._id,
            function_name=str(details.get("functionName", "")),
            function_version=str(details.get("functionVersion", "")),
        )

    async def subscribe(self, request: dict[str, object]) -> SubscribeOutcome:
        url = f"{self._base}/{TELEMETRY_API}/telemetry"
        headers = {_ID_HEADER: self._id, "Content-Type": "application/json"}
        async with self._session.put(url, data=orjson.dumps(request), headers=headers) as response:
            await _expect(response, "telemetry subscribe", 200, 202)
        return "subscribed" if response.status == 200 else "not-supported"

    async def next_event(self) -> LifecycleEvent:
        url = f"{self._base}/{EXTENSION_API}/extension/event/next"
        async with self._session.get(url, headers={_ID_HEADER: self._id}) as response:
            return parse_next_event(await _expect(response, "event/next", 200))

    async def init_error(self, error_type: str, message: str) -> None:
        await self._report_error("init/error", error_type, message)

    async def exit_error(self, error_type: str, message: str) -> None:
        await self._report_error("exit/error", error_type, message)

    async def _report_error(self, call: str, error_type: str, message: str) -> None:
        url = f"{self._base}/{EXTENSION_API}/extension/{call}"
        headers = {_ID_HEADER: self._id, "Lambda-Extension-Function-Error-Type": error_type}
        body = orjson.dumps({"errorType": error_type, "errorMessage": message})
        async with self._session.post(url, data=body, headers=headers) as response:
            await _expect(response, call, 202, 200)


async def _expect(response: aiohttp.ClientResponse, call: str, *statuses: int) -> bytes:
    body = await response.read()
    if response.status not in statuses:
        detail = body[:300].decode("utf-8", "replace")
        raise LambdaApiError(call, f"HTTP {response.status}: {detail}")
    return body
