"""Cases 1-6: S3 errors, slowness, outages, refusals, dropped connections, a freeze in mid-PUT."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lambda_emulator import Emulator
from tests.reliability.harness import report, run_case
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.layers import Flavour
from tests.support.s3 import S3Server

pytestmark = pytest.mark.integration
EVERY_INVOKE = {"flush_interval_ms": "0"}
LOGS = b'{"log_lines": 3, "sleep_ms": 20}'


async def test_case_01_throttling_and_server_errors_are_retried_without_loss_or_duplicates(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    fault_proxy.inject(Fault("status", 503, "SlowDown", method="PUT"), times=3)
    fault_proxy.inject(Fault("status", 500, "InternalError", method="PUT"))
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, [LOGS] * 4, EVERY_INVOKE)
    assert fault_proxy.stats.faults == {"status": 4}
    assert outcome.missing() == [] and outcome.duplicates == 0, outcome.output
    assert outcome.summary["retries"] >= 3  # 4 attempts per flush: 3 retries, then the next flush succeeds
    report("01 S3 503 x3 + 500 x1, retried", flavour, outcome)


async def test_case_02_a_slow_s3_never_holds_next_past_the_budget(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    fault_proxy.inject(Fault("delay", seconds=0.6, method="PUT"), times=20)
    settings = {**EVERY_INVOKE, "flush_budget_ms": "100"}
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, [LOGS] * 5, settings)
    # the wait before /next is bounded by the budget (100 ms; generous slack for a busy CI machine)
    assert outcome.max_post_runtime_ms < 100 + 150
    assert outcome.missing() == [] and outcome.duplicates == 0  # written later, once
    report("02 S3 slow (PUT +600 ms, budget 100 ms)", flavour, outcome)


async def test_case_03_an_outage_keeps_the_newest_data_within_bounds_and_counts_drops(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    fault_proxy.inject(Fault("status", 503, "ServiceUnavailable", method="PUT"), times=10_000)

    async def recover_after_eight(emulator: Emulator, number: int) -> None:
        if number == 7:
            fault_proxy.clear()

    settings = {**EVERY_INVOKE, "ring_max_events": "100", "max_pending_batches": "2", "s3_max_attempts": "2"}
    payloads = [b'{"log_lines": 40}'] * 12
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, payloads, settings, recover_after_eight)
    summary = outcome.summary
    assert summary["dropped"] > 0 and summary["unwritten"] == 0
    assert summary["received"] == summary["written"] + summary["dropped"]  # every event written or counted
    assert len(outcome.stored) == summary["written"] and outcome.duplicates == 0
    last = outcome.invokes[-1].request_id
    assert any(e["type"] == "platform.report" and e["record"]["requestId"] == last for e in outcome.stored)
    report("03 S3 down 8 invokes, then back", flavour, outcome, received=summary["received"])


@pytest.mark.parametrize(
    ("status", "code"), [(403, "AccessDenied"), (403, "InvalidAccessKeyId"), (400, "ExpiredToken")]
)
async def test_case_04_refusals_cause_no_retry_storm_and_one_clear_error(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str, status: int, code: str
) -> None:
    fault_proxy.inject(Fault("status", status, code, method="PUT"), times=10_000)
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, [LOGS] * 6, EVERY_INVOKE)
    errors = [line for line in outcome.output if "S3 write failed" in line]
    assert len(errors) == 1 and code in errors[0]
    assert outcome.puts <= len(outcome.invokes) + 1  # one attempt per flush: no retries of a refusal
    assert outcome.summary["retries"] == 0 and outcome.summary["unwritten"] > 0
    assert outcome.max_post_runtime_ms < 100
    report(f"04 S3 refuses ({status} {code})", flavour, outcome, errors_logged=len(errors))


async def test_case_05_a_connection_dropped_while_frozen_costs_no_batch(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    async def drop_while_frozen(emulator: Emulator, number: int) -> None:
        fault_proxy.drop_idle_connections()  # the server side closes kept-alive connections during the freeze

    outcome = await run_case(
        flavour, tmp_path, s3_server, fault_proxy, bucket, [LOGS] * 5, EVERY_INVOKE, drop_while_frozen
    )
    assert outcome.missing() == [] and outcome.duplicates == 0
    assert outcome.summary["unwritten"] == 0
    report("05 keep-alive connection dropped during freeze", flavour, outcome)


async def test_case_06_a_freeze_in_the_middle_of_a_put_neither_loses_nor_duplicates(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, fault_proxy: FaultProxy, bucket: str
) -> None:
    fault_proxy.inject(Fault("delay", seconds=0.3, method="PUT"), times=20)

    async def stay_frozen(emulator: Emulator, number: int) -> None:
        assert emulator.sandbox.frozen
        await asyncio.sleep(0.5)  # frozen while the proxy finishes the PUT upstream (an observation window)

    settings = {**EVERY_INVOKE, "flush_budget_ms": "0"}  # /next at once: the freeze lands mid-PUT
    outcome = await run_case(flavour, tmp_path, s3_server, fault_proxy, bucket, [LOGS] * 4, settings, stay_frozen)
    assert outcome.missing() == [] and outcome.duplicates == 0
    keys = list(outcome.objects)
    assert len(keys) == len(set(keys)) == len(outcome.metadata)
    report("06 freeze in mid-PUT", flavour, outcome, objects=len(keys))
