"""The report over objects the extension really wrote (the recorded session), checked against the emulator's
own records; and over generated objects for what a local run cannot produce."""

from __future__ import annotations

import gzip
import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from telemetry_tools.cli import main
from telemetry_tools.report.build import build
from telemetry_tools.report.fetch import local_files
from telemetry_tools.report.load import load
from telemetry_tools.report.series import bucket_seconds
from tests.support.s3 import S3Server
from tests.tools import synthetic
from tests.tools.recorded import FUNCTION, MEMORY_MB, Recording

pytestmark = pytest.mark.integration


def linear(values: Sequence[float], q: float) -> float:
    """Percentile interpolated between the closest ranks (the report's stated definition), computed apart."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def near(value: float) -> Any:
    return pytest.approx(value, abs=0.0015)  # both sides round to 0.001 ms


def only_function(report: dict[str, Any]) -> dict[str, Any]:
    (figures,) = report["functions"]
    assert isinstance(figures, dict)
    return figures


def test_the_report_agrees_with_the_emulators_records(recording: Recording, tmp_path: Path) -> None:
    # GIVEN what the extension wrote during a session with errors, a timeout and an OOM kill
    # WHEN the report is built from those objects
    figures = only_function(build(local_files(recording.folder), "recorded", tmp_path).report)
    invokes, inits = recording.invokes, recording.inits
    # THEN it counts what the emulator counted
    assert (figures["function"], figures["version"]) == (FUNCTION, "$LATEST")
    assert figures["invocations"] == figures["reports"] == len(invokes)
    cold = figures["cold_starts"]
    assert cold["count"] == len(inits) == 3 and cold["re_inits"] == sum(i.phase == "invoke" for i in inits) == 2
    outcomes = figures["outcomes"]
    assert outcomes["timeouts"] == sum(i.status == "timeout" for i in invokes) == 1, [
        (n, i.status, i.error_message) for n, i in enumerate(invokes) if i.status == "timeout"
    ]
    assert outcomes["out_of_memory"] == sum(i.error_type == "Runtime.OutOfMemory" for i in invokes) == 1
    errors = [i for i in invokes if i.status != "timeout" and (i.status in ("error", "failure") or i.error_type)]
    assert outcomes["errors"] == len(errors) == 2
    # and its durations are the emulator's, to the rounding
    durations = [i.duration_ms for i in invokes]
    assert figures["duration_ms"] == {
        "avg": near(sum(durations) / len(durations)),
        "p50": near(linear(durations, 0.5)),
        "p99": near(linear(durations, 0.99)),
        "max": near(max(durations)),
    }
    post = [i.post_runtime_extensions_ms for i in invokes]
    assert figures["post_runtime_extensions_ms"] == {
        "avg": near(sum(post) / len(post)),
        "p99": near(linear(post, 0.99)),
        "max": near(max(post)),
        "samples": len(invokes),
    }
    init_ms = [i.duration_ms for i in inits]
    assert cold["init_duration_ms"] == {
        "avg": near(sum(init_ms) / 3),
        "p50": near(linear(init_ms, 0.5)),
        "max": near(max(init_ms)),
    }
    assert figures["memory_mb"]["max_used"] == max(i.max_memory_used_mb for i in invokes)
    assert figures["memory_mb"]["size"] == MEMORY_MB
    # and the extension's own account: one instance per init, nothing missing or dropped
    extension = figures["extension"]
    assert extension["instances"] == len(inits) and extension["missing_objects"] == 0
    assert extension["events_in_s3"] == extension["events_declared"] == extension["counters"]["received"]
    assert extension["counters"]["dropped"] == figures["lambda_logs_dropped"]["records"] == 0
    assert figures["event_types"]["function"] > 0 and figures["event_types"]["platform.report"] == len(invokes)


def test_the_report_is_written_as_markdown_json_and_png(recording: Recording, tmp_path: Path) -> None:
    written = build(local_files(recording.folder), "recorded", tmp_path / "out")
    assert json.loads(written.json.read_text())["functions"] == written.report["functions"]
    text = written.markdown.read_text()
    figures = only_function(written.report)
    assert f"| {FUNCTION} | $LATEST | {figures['invocations']} | 3 |" in text
    assert "| timeouts / errors / out of memory | 1 / 2 / 1 |" in text
    assert written.png.read_bytes().startswith(b"\x89PNG") and written.png.stat().st_size > 20_000
    assert written.report["series"]["functions"][f"{FUNCTION} $LATEST"]["invokes"]


def test_the_report_command_fetches_from_s3_with_progress_then_reuses_what_it_has(
    recording: Recording,
    s3_server: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in s3_server.extension_env(recording.bucket).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    argv = [
        "report",
        "--bucket",
        recording.bucket,
        "--prefix",
        recording.prefix,
        "--endpoint-url",
        s3_server.endpoint,
        "--region",
        "us-east-1",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    first = capsys.readouterr()
    objects = len(local_files(recording.folder))
    assert f"{objects}/{objects} objects" in first.err and "report: " in first.out
    assert len(local_files(tmp_path / "objects")) == objects
    assert main(argv) == 0  # the second time nothing is fetched again
    assert "0.0 MB fetched" in capsys.readouterr().err.splitlines()[-2]
    assert only_function(json.loads((tmp_path / "report.json").read_text()))["invocations"] == len(recording.invokes)


def test_a_missing_bucket_is_one_line(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in s3_server.extension_env("x").items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    argv = ["report", "--bucket", "no-such-bucket", "--endpoint-url", s3_server.endpoint, "--out", str(tmp_path)]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().endswith("NoSuchBucket: The specified bucket does not exist")


def mixed_object(folder: Path, records: int) -> Path:
    """The issue's case: `records` object records, then one plain-text log line, then an unknown type."""
    header = {
        "time": "2026-11-23T10:00:00.000Z",
        "type": "telemetry_ext.batch",
        "record": {
            "functionName": "mixed",
            "functionVersion": "7",
            "instanceId": "i1",
            "sequence": 0,
            "events": records + 2,
            "counters": {"received": records + 2},
        },
    }
    lines = [header] + [
        {"time": "2026-11-23T10:00:01.000Z", "type": "function", "record": {"level": "INFO", "message": f"m{n}"}}
        for n in range(records)
    ]
    lines += [
        {"time": "2026-11-23T10:00:02.000Z", "type": "function", "record": "a plain-text line\n"},
        {"time": "2026-11-23T10:00:03.000Z", "type": "platform.notYetInvented", "record": {"x": [1]}},
    ]
    path = folder / "function=mixed" / "dt=2026-11-23" / "hour=10" / "i1-00000000.ndjson.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(b"\n".join(orjson.dumps(line) for line in lines) + b"\n"))
    return path


def test_records_that_mix_objects_and_strings_are_read_whole(tmp_path: Path) -> None:
    # GIVEN 30,000 object records followed by a string record and an unknown event type
    path = mixed_object(tmp_path, 30_000)
    # (inference from the first lines is what fails on this)
    with pytest.raises(duckdb.Error, match="Expected OBJECT, but got VARCHAR"):
        duckdb.connect().execute(f"SELECT count(record) FROM read_json_auto('{path}')").fetchall()
    # WHEN it is loaded with explicit columns THEN every event is there, the string intact
    loaded = load([path])
    rows = loaded.connection.execute("SELECT type, count(*) FROM events GROUP BY type ORDER BY type").fetchall()
    assert rows == [("function", 30_001), ("platform.notYetInvented", 1)]
    text = loaded.connection.execute("SELECT record->>'$' FROM events WHERE json_type(record) = 'VARCHAR'").fetchall()
    assert text == [("a plain-text line\n",)]


def test_an_unreadable_object_is_set_aside_and_named(recording: Recording, tmp_path: Path) -> None:
    shutil.copytree(recording.folder, tmp_path / "objects")
    victim = sorted(local_files(tmp_path / "objects"))[0]
    victim.write_bytes(victim.read_bytes()[:40])  # truncated mid-stream
    report = build(local_files(tmp_path / "objects"), "damaged", tmp_path / "out").report
    assert report["unreadable_objects"] == [str(victim)]
    assert report["objects"] == len(local_files(recording.folder)) - 1
    assert "1 unreadable" in (tmp_path / "out" / "report.md").read_text()


def test_an_object_stored_twice_is_counted_once(recording: Recording, tmp_path: Path) -> None:
    shutil.copytree(recording.folder, tmp_path / "objects")
    original = sorted(local_files(tmp_path / "objects"))[0]
    shutil.copy(original, original.with_name("copy-" + original.name))
    loaded = load(local_files(tmp_path / "objects"))
    events = len(gzip.decompress(original.read_bytes()).splitlines()) - 1
    assert loaded.duplicates == events > 0
    clean = only_function(build(local_files(recording.folder), "clean", tmp_path / "a").report)
    doubled = only_function(build(local_files(tmp_path / "objects"), "doubled", tmp_path / "b").report)
    assert doubled["invocations"] == clean["invocations"] and doubled["cold_starts"] == clean["cold_starts"]


def test_snapstart_restores_are_counted_apart_from_fresh_inits(tmp_path: Path) -> None:
    # GIVEN restored environments, each replaying the snapshot's initStart/initReport
    synthetic.write(tmp_path, synthetic.Shape(invocations=150, per_environment=50, mode="snap-start"))
    figures = only_function(build(local_files(tmp_path), "snapstart", tmp_path / "out").report)
    # THEN three restores, and no fresh init: the replayed ones are counted as replays
    assert figures["restores"] == {"count": 3, "duration_ms": {"p50": 21.0, "max": 22.0}}
    assert figures["cold_starts"]["count"] == 0 and figures["cold_starts"]["snapshot_init_replays"] == 3
    assert figures["invocations"] == 150


def test_managed_instance_reports_have_durations_but_no_post_runtime(tmp_path: Path) -> None:
    synthetic.write(tmp_path, synthetic.Shape(invocations=60, mode="managed"))
    figures = only_function(build(local_files(tmp_path), "lmi", tmp_path / "out").report)
    durations = [synthetic.duration_ms(n) for n in range(60)]
    assert figures["duration_ms"]["max"] == max(durations)
    assert figures["post_runtime_extensions_ms"] == {"avg": None, "p99": None, "max": None, "samples": 0}
    assert figures["memory_mb"]["max_used"] is None


def test_generated_objects_give_the_figures_they_were_made_with(tmp_path: Path) -> None:
    shape = synthetic.Shape(functions=3, invocations=200, per_environment=40, per_object=15)
    objects = synthetic.write(tmp_path, shape)
    report = build(local_files(tmp_path), "generated", tmp_path / "out").report
    assert report["objects"] == objects and len(report["functions"]) == 3
    for figures in report["functions"]:
        post = [synthetic.post_runtime_ms(n) for n in range(200)]
        assert figures["invocations"] == 200 and figures["cold_starts"]["count"] == 5
        assert figures["post_runtime_extensions_ms"]["p99"] == near(linear(post, 0.99))
        assert figures["cold_starts"]["init_duration_ms"]["max"] == synthetic.init_ms(4)


@pytest.mark.parametrize(("span", "width"), [(0, 1), (60, 1), (61, 5), (3600, 60), (86400, 3600), (10**9, 604800)])
def test_buckets_are_sized_to_the_span(span: float, width: int) -> None:
    assert bucket_seconds(span) == width
