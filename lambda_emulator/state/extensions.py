"""Extensions API 2020-01-01 state: registration, /next long-polls, error reports (lambda-api.md §1).

On Lambda Managed Instances (`lmi=True`) an external extension may register for SHUTDOWN only and an internal
one for nothing, with LMI RIE's errors (`core/externalagent.go` `ValidateExternalAgentEvent`,
`rapi/handler/agentregister.go`): 403 `Extension.InvalidEventType`, "INVOKE: ErrorInvalidEventType" and
"No events allowed for internal extensions".
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from lambda_emulator.state.errors import ApiError
from lambda_emulator.state.notify import Notifier

MAX_EXTENSIONS: Final = 10
EVENT_TYPES: Final = frozenset({"INVOKE", "SHUTDOWN"})
LMI_EVENTS: Final = frozenset({"SHUTDOWN"})


@dataclass(slots=True)
class Agent:
    id: str
    name: str
    events: frozenset[str]
    external: bool
    state: str = "Registered"
    waiting: bool = False
    next_calls: int = 0
    ready_at: float | None = None
    error_type: str | None = None
    error_body: bytes = b""
    inbox: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    name: str
    version: str
    handler: str
    account_id: str


class ExtensionRegistry:
    def __init__(self, external_names: set[str], function: FunctionInfo, notifier: Notifier, lmi: bool = False) -> None:
        self.external_names = external_names
        self.lmi = lmi
        self._function = function
        self._notifier = notifier
        self.agents: dict[str, Agent] = {}
        self.registration_open = True

    def register(self, name: str, body: bytes, features: str) -> tuple[Agent, dict[str, str]]:
        if not name:
            raise ApiError(403, "Extension.InvalidExtensionName", "Empty extension name")
        events = _requested_events(body)
        external = name in self.external_names
        if self.lmi:
            _check_lmi_events(events, external)
        if not external and not self.registration_open:
            raise ApiError(403, "Extension.RegistrationClosed", "Extension registration closed already")
        if any(a.name == name for a in self.agents.values()):
            raise ApiError(403, "Extension.InvalidExtensionState", "Extension with this name already registered")
        if len(self.agents) >= MAX_EXTENSIONS:
            raise ApiError(403, "Extension.TooManyExtensions", f"Extension limit ({MAX_EXTENSIONS}) reached")
        if not external and "SHUTDOWN" in events:
            message = "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension"
            raise ApiError(403, "Extension.InvalidEventType", message)
        agent = Agent(id=str(uuid.uuid4()), name=name, events=events, external=external)
        self.agents[agent.id] = agent
        self._notifier.notify()
        reply = {
            "functionName": self._function.name,
            "functionVersion": self._function.version,
            "handler": self._function.handler,
        }
        if "accountId" in {f.strip() for f in features.split(",")}:
            reply["accountId"] = self._function.account_id
        return agent, reply

    def agent(self, identifier: str | None) -> Agent:
        if not identifier:
            raise ApiError(403, "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header")
        try:
            uuid.UUID(identifier)
        except ValueError:
            raise ApiError(403, "Extension.InvalidExtensionIdentifier", "Invalid extension identifier") from None
        agent = self.agents.get(identifier)
        if agent is None:
            raise ApiError(403, "Extension.UnknownExtensionIdentifier", f"Unknown extension {identifier}")
        return agent

    async def next_event(self, agent: Agent) -> bytes:
        agent.waiting = True
        agent.next_calls += 1
        if agent.state == "Registered":
            agent.state = "Ready"
            agent.ready_at = time.monotonic()
        self._notifier.notify()
        try:
            return await agent.inbox.get()
        finally:
            agent.waiting = False

    def report_error(self, agent: Agent, error_type: str | None, body: bytes, phase: str) -> None:
        if not error_type:
            message = "Lambda-Extension-Function-Error-Type not found"
            raise ApiError(403, "Extension.MissingHeader", message)
        agent.error_type = error_type
        agent.error_body = body
        agent.state = "InitError" if phase == "init" else "ExitError"
        self._notifier.notify()

    def external_registered(self) -> bool:
        registered = {a.name for a in self.agents.values() if a.external}
        return self.external_names <= registered

    def subscribed(self, event: str) -> list[Agent]:
        return [a for a in self.agents.values() if event in a.events]

    def all_waiting(self) -> bool:
        """Every agent has called /next and waits on it."""
        return all(a.waiting for a in self.agents.values())

    def failed(self) -> Agent | None:
        return next((a for a in self.agents.values() if a.error_type), None)

    def send(self, event: str, payload: dict[str, Any]) -> None:
        encoded = orjson.dumps(payload)
        for agent in self.subscribed(event):
            agent.inbox.put_nowait(encoded)


def _check_lmi_events(events: frozenset[str], external: bool) -> None:
    if not external and events:
        raise ApiError(403, "Extension.InvalidEventType", "No events allowed for internal extensions")
    for event in sorted(events - LMI_EVENTS):
        raise ApiError(403, "Extension.InvalidEventType", f"{event}: ErrorInvalidEventType")


def _requested_events(body: bytes) -> frozenset[str]:
    try:
        request = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        raise ApiError(403, "InvalidRequestFormat", "Invalid JSON in the register request") from None
    if not isinstance(request, dict):
        raise ApiError(403, "InvalidRequestFormat", "The register request must be a JSON object")
    if "configurationKeys" in request:
        message = "configurationKeys are deprecated; use environment variables instead"
        raise ApiError(403, "InvalidRequestFormat", message)
    events = request.get("events")
    if events is None:
        events = []
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        # RIE unmarshals the body into a list of event names: anything else is a malformed request
        raise ApiError(403, "InvalidRequestFormat", "events must be a list of event names")
    for event in events:
        if event not in EVENT_TYPES:
            raise ApiError(403, "Extension.InvalidEventType", f"{event}: ErrorInvalidEventType")
    return frozenset(events)
