"""The comparison (scripts/compare.sh) in a tiny configuration: its files, their shape, every report in S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.layers import REPO

pytestmark = pytest.mark.integration
VARIANTS = ("none", "interpreted", "native")
ORDER = [(v, "sleep", "boosted") for v in VARIANTS] + [(v, "cpu", "boosted") for v in (*VARIANTS, "floor")]
ORDER += [(v, "sleep", "throttled") for v in VARIANTS]
"""Boosted sessions with invokes, one per workload (the CPU-bound one with the floor of a Python extension beside
the layers), then init-only throttled ones; variants interleaved innermost."""


def compare(out: Path, memory: int, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], Any]:
    command = [sys.executable, str(REPO / "scripts" / "bench" / "compare.py"), "--invocations", "2", "--rounds", "1",
               "--memory", str(memory), "--sleep-ms", "50", "--startup-rounds", "1", "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result, json.loads((out / "compare.json").read_text())


def test_a_tiny_comparison_writes_its_files_with_every_report_in_s3(tmp_path: Path) -> None:
    result, data = compare(tmp_path, 512)
    assert set(data) == {"context", "builds", "figures", "figures_cpu", "sessions", "startup"}
    for flavour in ("interpreted", "native"):  # the start-up of both layers, without the emulator
        assert data["startup"]["summary"][flavour]["first_next_cpu_median_ms"] > 0
    assert {"machine", "commit", "python", "workload", "limits", "date"} <= set(data["context"])
    figures = data["figures"]["512"]
    assert {"none", "interpreted", "native", "ratios_native_over_interpreted", "no_limits"} <= set(figures)
    for variant in ("interpreted", "native"):
        assert figures[variant]["reports_in_s3"] == figures[variant]["invocations"] == 2
        for key in ("zip_mb", "ext_init_cpu_median_ms", "post_runtime_max_ms", "ext_peak_rss_mb", "init_added_ms",
                    "init_throttled_median_ms", "init_throttled_added_ms"):  # fmt: skip
            assert isinstance(figures[variant][key], int | float), key
    # the CPU-bound workload's figures, every report in S3 there too
    cpu = data["figures_cpu"]["512"]
    for variant in ("interpreted", "native"):
        assert cpu[variant]["reports_in_s3"] == cpu[variant]["invocations"] == 2
        assert isinstance(cpu[variant]["ext_cpu_per_invoke_ms"], int | float)
    assert isinstance(cpu["native"]["duration_delta_pct"], int | float)
    # boosted sessions (with invokes) per workload, then init-only throttled sessions, each interleaved
    assert [(s["variant"], s["workload"], s["init_cpu"]) for s in data["sessions"]] == ORDER
    assert [len(s["invokes"]) for s in data["sessions"]] == [2] * 7 + [0] * 3
    assert cpu["floor"]["invocations"] == 2 and isinstance(cpu["floor"]["ext_cpu_per_invoke_ms"], int | float)
    assert [s["init"]["cpu"]["policy"] for s in data["sessions"]] == [p for _, _, p in ORDER]
    # a figure is "no limits" exactly when a session ran without a memory cap or CPU quota
    enforced = all(s["init"]["limits"]["enforced"] for s in data["sessions"])
    assert figures["no_limits"] is (not enforced)
    table = (tmp_path / "compare.md").read_text()
    assert table.startswith("# Native vs interpreted vs no extension")
    assert "| cold start, throttled init (provisioned concurrency / re-init) median / avg / max (ms) |" in table
    assert "## The CPU-bound handler" in table and "Targets (native), issue 21" in table
    assert ("NO LIMITS" in table) is (not enforced) and ("NO LIMITS" in result.stdout) is (not enforced)
    assert (tmp_path / "compare.png").read_bytes().startswith(b"\x89PNG")


def test_without_limits_the_line_above_the_table_and_its_heading_say_so(tmp_path: Path) -> None:
    # GIVEN a host without cgroups (an empty cgroup root) WHEN the comparison runs
    empty = tmp_path / "no-cgroups"
    empty.mkdir()
    result, data = compare(tmp_path / "out", 128, {"LAMBDA_EMULATOR_CGROUP_ROOT": str(empty)})
    # THEN it says so above the table, in the heading, in every target, and in the JSON: never a silent "128 MB"
    stdout = result.stdout
    assert "NO LIMITS: 10 of 10 sessions ran without a memory cap or CPU quota" in stdout
    assert stdout.index("NO LIMITS: 10 of 10") < stdout.index("# Native vs interpreted vs no extension")
    table = (tmp_path / "out" / "compare.md").read_text()
    assert "## 128 MB: NO LIMITS (no memory cap, no CPU quota: not Lambda's figures at 128 MB)" in table
    assert "\n## 128 MB\n" not in table
    targets = [line for line in table.splitlines() if line.startswith("- ") and ("met" in line or "MISSED" in line)]
    in_the_emulator = [line for line in targets if "without the emulator" not in line]  # startup.py: no limits apply
    assert in_the_emulator and all(line.endswith("(no limits)") for line in in_the_emulator)
    assert data["figures"]["128"]["no_limits"] is True
    assert all(not data["figures"]["128"][v]["limits_enforced"] for v in ("none", "interpreted", "native"))
