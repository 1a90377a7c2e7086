from telemetry_ext.pipeline.flush_policy import BufferState, FlushPolicy, FlushReason, on_invoke, on_shutdown

POLICY = FlushPolicy(interval_s=10, budget_s=0.3, batch_max_bytes=1000, shutdown_grace_s=0.3, shutdown_margin_s=0.2)


def state(events: int = 0, size: int = 0, oldest: float | None = None, pending: int = 0) -> BufferState:
    return BufferState(events, size, oldest, pending)


def test_nothing_buffered_means_no_flush() -> None:
    assert not on_invoke(POLICY, state(), now=100, until_deadline_s=3).flush


def test_young_small_buffers_wait_for_the_interval() -> None:
    decision = on_invoke(POLICY, state(events=5, size=100, oldest=95), now=100, until_deadline_s=3)
    assert decision.reason is FlushReason.NOTHING_DUE


def test_old_events_are_flushed() -> None:
    assert (
        on_invoke(POLICY, state(events=5, size=100, oldest=90), now=100, until_deadline_s=3).reason is FlushReason.AGE
    )


def test_a_full_batch_is_flushed_at_once() -> None:
    assert on_invoke(POLICY, state(events=5, size=1000, oldest=99), 100, 3).reason is FlushReason.SIZE


def test_pending_batches_are_retried_first() -> None:
    assert on_invoke(POLICY, state(pending=1), 100, 3).reason is FlushReason.RETRY


def test_the_wait_before_next_is_the_budget_but_never_past_the_deadline() -> None:
    assert on_invoke(POLICY, state(pending=1), 100, until_deadline_s=3).wait_s == 0.3
    assert abs(on_invoke(POLICY, state(pending=1), 100, until_deadline_s=0.25).wait_s - 0.05) < 1e-9
    assert on_invoke(POLICY, state(pending=1), 100, until_deadline_s=0.1).wait_s == 0


def test_interval_zero_flushes_on_every_invoke_with_data() -> None:
    policy = FlushPolicy(0, 0.3, 1000, 0.3, 0.2)
    assert on_invoke(policy, state(events=1, size=1, oldest=100), 100, 3).flush


def test_shutdown_waits_for_the_report_then_drains_before_the_margin() -> None:
    plan = on_shutdown(POLICY, until_deadline_s=1.7, awaiting_report=True)
    assert plan.grace_s == 0.3
    assert abs(plan.grace_s + plan.drain_s - 1.5) < 1e-9


def test_shutdown_grace_never_takes_more_than_half_of_what_is_left() -> None:
    plan = on_shutdown(POLICY, until_deadline_s=0.6, awaiting_report=True)
    assert abs(plan.grace_s - 0.2) < 1e-9 and abs(plan.drain_s - 0.2) < 1e-9


def test_shutdown_without_a_report_to_wait_for_drains_at_once() -> None:
    assert on_shutdown(POLICY, 1.7, awaiting_report=False).grace_s == 0


def test_shutdown_past_its_deadline_has_no_time_left() -> None:
    plan = on_shutdown(POLICY, until_deadline_s=-1, awaiting_report=True)
    assert plan.grace_s == 0 and plan.drain_s == 0
