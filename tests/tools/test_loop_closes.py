"""The loop closes: after a (tiny) comparison run, the report built from the S3 data the extension wrote
agrees with the emulator's own records of the same run. Runs the comparison: heavy (scripts/test.sh)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.layers import REPO
from tests.tools.test_report import linear, near

pytestmark = pytest.mark.integration


def test_the_report_from_a_comparisons_s3_data_agrees_with_the_emulators_records(tmp_path: Path) -> None:
    # GIVEN a comparison run (no extension, interpreted, native: one session each, 3 invokes)
    command = [
        sys.executable,
        str(REPO / "scripts" / "bench" / "compare.py"),
        "--invocations",
        "3",
        "--rounds",
        "1",
        "--memory",
        "512",
        "--sleep-ms",
        "50",
        "--workloads",
        "sleep",
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # WHEN it ends THEN it says where the report built from the S3 data is, last
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("report built from what the extension wrote to S3:") and "report.png" in last
    sessions = [s for s in json.loads((tmp_path / "compare.json").read_text())["sessions"] if s["variant"] != "none"]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert (tmp_path / "report" / "report.png").read_bytes().startswith(b"\x89PNG")
    (figures,) = report["functions"]  # both layers ran the same function
    agree(figures, sessions)


def agree(figures: dict[str, Any], sessions: list[dict[str, Any]]) -> None:
    invokes = [invoke for session in sessions for invoke in session["invokes"]]
    inits = [session["init"]["duration_ms"] for session in sessions]
    # the same invocation and cold-start counts
    assert figures["invocations"] == figures["reports"] == len(invokes) == 6
    # a boosted session with invokes and a throttled init-only one per layer (compare.py)
    assert figures["cold_starts"]["count"] == len(sessions) == 4 and figures["cold_starts"]["re_inits"] == 0
    # the same durations, to the rounding
    durations = [i["duration_ms"] for i in invokes]
    assert figures["duration_ms"] == {
        "avg": near(sum(durations) / len(durations)),
        "p50": near(linear(durations, 0.5)),
        "p99": near(linear(durations, 0.99)),
        "max": near(max(durations)),
    }
    post = [i["post_runtime_extensions_ms"] for i in invokes]
    assert figures["post_runtime_extensions_ms"]["avg"] == near(sum(post) / len(post))
    assert figures["post_runtime_extensions_ms"]["max"] == near(max(post))
    assert figures["cold_starts"]["init_duration_ms"] == {
        "avg": near(sum(inits) / len(inits)),
        "p50": near(linear(inits, 0.5)),
        "max": near(max(inits)),
    }
    assert figures["memory_mb"]["max_used"] == max(i["max_memory_used_mb"] for i in invokes)
    assert figures["memory_mb"]["size"] == 512
    assert figures["outcomes"] == {"timeouts": 0, "errors": 0, "out_of_memory": 0}
    # and the objects and events the comparison counted in S3
    assert figures["extension"]["objects"] == sum(s["s3"]["objects"] for s in sessions)
    assert figures["extension"]["events_in_s3"] == sum(s["s3"]["events"] for s in sessions)
