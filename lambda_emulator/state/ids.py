"""The names Lambda gives: the account, each environment's log stream (its instanceId), each invocation's request
id, deadline, function ARN and X-Ray trace header."""

from __future__ import annotations

import time
import uuid
from typing import Final

from lambda_emulator.state.config import EmulatorConfig
from lambda_emulator.state.runtime import Invocation

ACCOUNT_ID: Final = "123456789012"


def instance_id(config: EmulatorConfig) -> str:
    """A log stream name (what Lambda sends as instanceId): date, function[version], a random id."""
    day = time.strftime("%Y/%m/%d", time.gmtime())
    return f"{day}/{config.function_name}[{config.function_version}]{uuid.uuid4().hex}"


def new_invocation(config: EmulatorConfig, payload: bytes) -> Invocation:
    """A new invocation: its request id, deadline, function ARN and X-Ray trace header."""
    deadline_ms = int((time.time() + config.timeout_s) * 1000)
    arn = f"arn:aws:lambda:{config.region}:{ACCOUNT_ID}:function:{config.function_name}"
    trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"
    return Invocation(str(uuid.uuid4()), payload, deadline_ms, arn, trace)
