"""The command line in each mode: the records it writes, the summary it prints, its one-line refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from lambda_emulator.cli.main import main
from tests.emulator.harness import REPO

pytestmark = pytest.mark.integration
Capture = pytest.CaptureFixture[str]


def run(tmp_path: Path, *options: str) -> tuple[int, dict[str, object]]:
    out = tmp_path / "records.json"
    code = main(["run", "--json", str(out), *options])
    return code, orjson.loads(out.read_bytes())


def test_lmi_spreads_the_invocations_over_concurrent_callers(tmp_path: Path, capsys: Capture) -> None:
    code, records = run(tmp_path, "--mode", "lmi", "--concurrency", "3", "--invocations", "6",
                        "--payload", '{"sleep_ms": 200}', "--memory", "1769")  # fmt: skip
    assert code == 0 and records["mode"] == "lmi" and records["peak_in_flight"] == 3
    invokes = records["invokes"]
    assert isinstance(invokes, list) and len(invokes) == 6
    assert all(i["status"] == "success" and i["billed_duration_ms"] == 0 for i in invokes)
    table = capsys.readouterr().out
    assert "concurrency (configured / peak in flight)" in table and "PostRuntimeExtensionsDuration" not in table


def test_snapstart_restores_the_snapshot_and_spreads_the_invocations(tmp_path: Path, capsys: Capture) -> None:
    code, records = run(tmp_path, "--mode", "snapstart", "--restores", "2", "--invocations", "3",
                        "--restore-gap", "0.1")  # fmt: skip
    assert code == 0 and records["mode"] == "snapstart"
    restores, invokes = records["restores"], records["invokes"]
    assert isinstance(restores, list) and [r["number"] for r in restores] == [1, 2]
    assert isinstance(invokes, list) and len(invokes) == 3
    assert [i["restore"] is not None for i in invokes] == [True, False, True]  # the first invoke after each
    assert "restores (ok / all)" in capsys.readouterr().out


def test_on_demand_records_keep_their_shape(tmp_path: Path) -> None:
    code, records = run(tmp_path, "--invocations", "2", "--init-type", "provisioned-concurrency")
    assert code == 0 and records["mode"] == "on-demand" and records["restores"] == []
    invokes = records["invokes"]
    assert isinstance(invokes, list) and invokes[0]["init"]["phase"] == "init"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--mode", "snapstart", "--credentials", "env"], "credentials=env"),
        (["--mode", "on-demand", "--concurrency", "4"], "concurrency"),
        (["--env", "NO_EQUALS_SIGN"], "K=V"),
        (["--mode", "snapstart", "--restores", "0"], "--restores"),
    ],
)
def test_a_bad_combination_is_one_clear_line(options: list[str], named: str, capsys: Capture) -> None:
    assert main(["run", *options]) == 2
    error = capsys.readouterr().err.strip()
    assert named in error and "\n" not in error and "Traceback" not in error


def test_without_the_privilege_it_runs_as_before_and_says_so_once(tmp_path: Path) -> None:
    # GIVEN a run without CAP_SYS_ADMIN (root with an empty capability bounding set, as a run without root)
    records = tmp_path / "records.json"
    command = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--", sys.executable, "-m", "lambda_emulator",
               "run", "--invocations", "2", "--json", str(records)]  # fmt: skip
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    # THEN it runs (layers in a temporary folder, telemetry to 127.0.0.1) and says so in one line, once
    assert completed.returncode == 0, completed.stderr
    notes = [line for line in completed.stderr.splitlines() if "NO NAMESPACE" in line]
    assert len(notes) == 1 and "CAP_SYS_ADMIN" in notes[0] and "Operation not permitted" in notes[0]
    environment = orjson.loads(records.read_bytes())["environment"]
    assert environment["namespace"] is False and environment["sandbox_address"] is None
