"""The flush policy: pure decisions over the buffer's state and the clock."""

from telemetry_ext.pipeline.flush_policy import (
    DRAIN_RESERVE_S,
    BufferState,
    FlushPolicy,
    FlushReason,
    buffer_full,
    done_listening,
    due,
    holding_for_report,
    invoke_wait,
    next_age_due,
    quiet_check_at,
    shutdown_plan,
)

POLICY = FlushPolicy(
    interval_s=10,
    budget_s=0.3,
    batch_max_bytes=1000,
    high_water_events=50,
    high_water_bytes=5000,
    shutdown_grace_s=0.3,
    shutdown_quiet_s=0.1,
    shutdown_margin_s=0.2,
)


def state(events: int = 0, size: int = 0, oldest: float | None = None, pending: int = 0) -> BufferState:
    return BufferState(events, size, oldest, pending)


def test_nothing_buffered_means_nothing_due() -> None:
    assert due(POLICY, state(), now=100) is FlushReason.NOTHING_DUE
    assert next_age_due(POLICY, state()) is None


def test_young_small_buffers_wait_for_the_interval_and_the_timer_says_when() -> None:
    young = state(events=5, size=100, oldest=95)
    assert due(POLICY, young, now=100) is FlushReason.NOTHING_DUE
    assert next_age_due(POLICY, young) == 105


def test_at_shutdown_whatever_is_buffered_is_due_at_once() -> None:
    assert due(POLICY, state(events=5, size=100, oldest=99.9), 100, shutting_down=True) is FlushReason.SHUTDOWN
    assert due(POLICY, state(), 100, shutting_down=True) is FlushReason.NOTHING_DUE
    assert due(POLICY, state(pending=1), 100, shutting_down=True) is FlushReason.RETRY


def test_old_events_are_due() -> None:
    assert due(POLICY, state(events=5, size=100, oldest=90), now=100) is FlushReason.AGE


def test_a_full_batch_is_due_at_once() -> None:
    assert due(POLICY, state(events=5, size=1000, oldest=99), 100) is FlushReason.SIZE


def test_a_buffer_past_its_high_water_mark_is_due_at_once() -> None:
    assert due(POLICY, state(events=50, size=200, oldest=99), 100) is FlushReason.HIGH_WATER
    assert due(POLICY.replace(batch_max_bytes=10**6), state(5, 5000, 99), 100) is FlushReason.HIGH_WATER


def test_a_full_buffer_says_so_whatever_else_is_under_way() -> None:  # cut while a write is in flight
    assert buffer_full(POLICY, state(events=50, size=200, oldest=99, pending=1)) is FlushReason.HIGH_WATER
    assert buffer_full(POLICY, state(events=5, size=1000, oldest=99, pending=1)) is FlushReason.SIZE
    assert buffer_full(POLICY, state(events=5, size=100, oldest=90, pending=1)) is None


def test_pending_batches_are_retried_first() -> None:
    assert due(POLICY, state(pending=1), 100) is FlushReason.RETRY


def test_interval_zero_makes_any_data_due() -> None:
    assert due(POLICY.replace(interval_s=0), state(events=1, size=1, oldest=100), 100) is FlushReason.AGE


def test_the_wait_before_next_is_the_budget_but_never_past_the_deadline() -> None:
    assert invoke_wait(POLICY, until_deadline_s=3) == 0.3
    assert abs(invoke_wait(POLICY, until_deadline_s=0.25) - 0.05) < 1e-9
    assert invoke_wait(POLICY, until_deadline_s=0.1) == 0
    assert invoke_wait(POLICY.replace(budget_s=0), until_deadline_s=3) == 0


def test_shutdown_exits_a_margin_before_the_deadline_and_keeps_a_reserve_for_the_last_write() -> None:
    plan = shutdown_plan(POLICY, now=100, until_deadline_s=1.7)
    assert abs(plan.exit_at - 101.5) < 1e-9
    assert abs(plan.listen_until - (101.5 - DRAIN_RESERVE_S)) < 1e-9
    assert abs(plan.expect_until - 100.3) < 1e-9


def test_at_shutdown_writes_wait_for_the_expected_last_report_for_half_the_quiet_window_at_most() -> None:
    plan = shutdown_plan(POLICY, now=100, until_deadline_s=1.7)
    assert abs(plan.hold_until - 100.05) < 1e-9
    assert holding_for_report(plan, 100.01, expecting=True)
    assert not holding_for_report(plan, 100.01, expecting=False)  # it came: write
    assert not holding_for_report(plan, 100.05, expecting=True)  # it did not come in time: write anyway


def test_shutdown_past_its_deadline_stops_listening_at_once() -> None:
    plan = shutdown_plan(POLICY, now=100, until_deadline_s=-1)
    assert plan.exit_at == plan.listen_until == plan.expect_until == plan.hold_until == 100
    assert not holding_for_report(plan, 100, expecting=True)
    assert done_listening(POLICY, plan, 100, last_activity=100, expecting=True, in_flight=1)


def test_listening_goes_on_while_telemetry_keeps_coming() -> None:
    plan = shutdown_plan(POLICY, now=100, until_deadline_s=1.7)
    assert not done_listening(POLICY, plan, 100.35, last_activity=100.3, expecting=False, in_flight=0)
    assert done_listening(POLICY, plan, 100.41, last_activity=100.3, expecting=False, in_flight=0)


def test_listening_waits_for_expected_events_up_to_the_grace_then_for_quiet() -> None:
    plan = shutdown_plan(POLICY, now=100, until_deadline_s=1.7)
    assert not done_listening(POLICY, plan, 100.2, last_activity=100, expecting=True, in_flight=0)
    assert done_listening(POLICY, plan, 100.31, last_activity=100, expecting=True, in_flight=0)


def test_a_request_under_way_keeps_the_listener_open_until_time_runs_out() -> None:
    plan = shutdown_plan(POLICY, now=100, until_deadline_s=1.7)
    assert not done_listening(POLICY, plan, 101.0, last_activity=100, expecting=False, in_flight=1)
    assert done_listening(POLICY, plan, plan.listen_until, last_activity=100, expecting=False, in_flight=1)


def test_the_next_check_is_when_quiet_or_grace_or_time_can_change_the_answer() -> None:
    plan = shutdown_plan(POLICY, now=100, until_deadline_s=1.7)
    assert abs(quiet_check_at(POLICY, plan, now=100.05, last_activity=100.05) - 100.15) < 1e-9
    assert abs(quiet_check_at(POLICY, plan, now=100.25, last_activity=100.25) - 100.3) < 1e-9
    assert quiet_check_at(POLICY, plan, now=101.05, last_activity=101.05) == plan.listen_until
