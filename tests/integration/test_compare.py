"""The comparison (scripts/compare.sh) in a tiny configuration: its files, their shape, every report in S3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.layers import REPO

pytestmark = pytest.mark.integration


def test_a_tiny_comparison_writes_its_files_with_every_report_in_s3(tmp_path: Path) -> None:
    command = [sys.executable, str(REPO / "scripts" / "bench" / "compare.py"), "--invocations", "2", "--rounds", "1",
               "--memory", "512", "--sleep-ms", "50", "--out", str(tmp_path)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads((tmp_path / "compare.json").read_text())
    assert set(data) == {"context", "builds", "figures", "sessions"}
    assert {"machine", "commit", "python", "workload", "date"} <= set(data["context"])
    figures = data["figures"]["512"]
    assert {"none", "interpreted", "native", "ratios_native_over_interpreted"} <= set(figures)
    for variant in ("interpreted", "native"):
        assert figures[variant]["reports_in_s3"] == figures[variant]["invocations"] == 2
        for key in ("zip_mb", "ext_init_cpu_median_ms", "post_runtime_max_ms", "ext_peak_rss_mb", "init_added_ms"):
            assert isinstance(figures[variant][key], int | float), key
    assert [s["variant"] for s in data["sessions"]] == ["none", "interpreted", "native"]  # interleaved order
    assert (tmp_path / "compare.md").read_text().startswith("# Native vs interpreted vs no extension")
    assert (tmp_path / "compare.png").read_bytes().startswith(b"\x89PNG")
