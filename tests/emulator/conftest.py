"""Fixtures of the emulator tests: what a test needs from the host, and no cgroup left behind by this session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lambda_emulator.sandbox.cgroups.host import probe
from lambda_emulator.sandbox.cgroups.stale import groups_of
from lambda_emulator.sandbox.isolation import OPEN_ROOTS


@pytest.fixture(scope="session", autouse=True)
def no_cgroup_left_behind() -> Iterator[None]:
    """After every test of the session (passed or failed), no group and no environment of this process may
    remain."""
    yield
    left = groups_of(probe(), os.getpid())
    assert not left, f"cgroups left behind by this test session: {[str(p) for p in left]}"
    assert not OPEN_ROOTS, f"environments never closed by this test session: {sorted(map(str, OPEN_ROOTS))}"


@pytest.fixture
def cgroup2_freezer() -> None:
    """Fails (never skips) where the host has no cgroup2 mount with cgroup.freeze."""
    host = probe()
    if host.v2 is None:
        pytest.fail(f"needs a cgroup2 mount with cgroup.freeze (kernel 5.2+); {host.describe()}")
