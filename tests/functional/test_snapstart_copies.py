"""Copies of one SnapStart snapshot: the part the emulator cannot show (its restores continue one process).

Two lifecycles in the same state stand for two environments restored from one snapshot: the same instance id,
the same sequence, the same pre-snapshot events. Each is restored and writes to the same bucket. The events
held before the restore must land once (one copy writes them, the other finds them there), and each copy's
own events under an instance id of its own.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from telemetry_ext.app import Pipeline
from telemetry_ext.config import Config
from telemetry_ext.events import decode_batch
from telemetry_ext.lambda_api import Shutdown
from telemetry_ext.pipeline.batcher import Identity
from tests.support.fault_proxy import FaultProxy
from tests.support.s3 import S3Server, decode_object

SNAPSHOT_ID = "5a4b3c2d1e0f0011"
PRE_SNAPSHOT = [{"time": "2026-11-23T12:00:00.000Z", "type": "platform.initStart", "record": {"phase": "init"}},
                {"time": "2026-11-23T12:00:00.100Z", "type": "function", "record": "warming up\n"}]  # fmt: skip


def a_copy(config: Config) -> Pipeline:
    """An environment as the snapshot left it: identity, sequence and buffered events the same in every copy."""
    copy = Pipeline(config, send_next=lambda: None)
    copy.batcher.identity = Identity("0.1.0", "fn", "$LATEST", SNAPSHOT_ID, "telemetry")
    copy.lifecycle.deliver(decode_batch(orjson.dumps(PRE_SNAPSHOT)))
    return copy


def restore_events(copy: int) -> list[dict[str, Any]]:
    return [
        {"time": "2026-11-24T08:00:00.000Z", "type": "platform.restoreStart", "record": {"copy": copy}},
        {"time": "2026-11-24T08:00:00.010Z", "type": "platform.restoreReport", "record": {"status": "success"}},
        {"time": "2026-11-24T08:00:00.020Z", "type": "function", "record": f"copy {copy} serving\n"},
    ]


def test_two_copies_of_one_snapshot_write_its_events_once_and_their_own_under_new_ids(
    s3_server: S3Server, bucket: str, fault_proxy: FaultProxy
) -> None:
    env = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
           **s3_server.extension_env(bucket, fault_proxy.endpoint, flush_interval_ms="0")}  # fmt: skip
    config = Config.from_env(env)
    copies = [a_copy(config), a_copy(config)]  # GIVEN two environments restored from one snapshot
    for number, copy in enumerate(copies):  # WHEN each is restored (the restore's events arrive) and shuts down
        copy.lifecycle.deliver(decode_batch(orjson.dumps(restore_events(number))))
        summary = copy.shut_down(Shutdown("spindown", int(time.time() * 1000) + 1700))
        assert "unwritten=0" in summary
    objects = {key: decode_object(body) for key, body in s3_server.objects(bucket).items()}
    # THEN the snapshot's events are in S3 once, under the snapshot's id, written by one copy
    snapshot_keys = [key for key in objects if f"/{SNAPSHOT_ID}-" in key]
    assert len(snapshot_keys) == 1
    assert objects[snapshot_keys[0]][1] == PRE_SNAPSHOT
    statuses = [e.status for e in fault_proxy.log if e.method == "PUT" and SNAPSHOT_ID in e.target]
    assert statuses == [200, 412]  # the second copy found it there: nothing overwritten
    # and each copy's own events are under an instance id of its own
    own = {objects[k][0]["instanceId"]: objects[k][1] for k in objects if k not in snapshot_keys}
    assert len(own) == 2 and SNAPSHOT_ID not in own
    assert sorted(events[0]["record"]["copy"] for events in own.values()) == [0, 1]
