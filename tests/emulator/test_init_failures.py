"""Init failures as Lambda reports them: the status and errorType in the platform records, one line naming the
process and its error, the processes' output, everything killed, and init run again at the next invoke
(`phase: "invoke"`); the command line says it in one line, writes the records, and exits 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from lambda_emulator import Emulator
from lambda_emulator.state.errors import InitFailed
from lambda_emulator.state.runtimes import AwsLambdaRic
from tests.emulator.harness import REPO, environment, seen

pytestmark = pytest.mark.integration


async def test_an_extension_that_crashes_at_init_is_named_with_its_error_and_init_runs_again(tmp_path: Path) -> None:
    # GIVEN an extension that exits with an error line the first time it starts
    config, out = environment(tmp_path, behaviour="crash-at-init-once")
    async with Emulator(config) as emulator:
        # WHEN init runs, fails, and an invoke comes
        with pytest.raises(InitFailed) as failed:
            await emulator.start()
        record = await emulator.invoke(b"{}")
        first, second = emulator.inits
        emitted = list(emulator.telemetry.emitted)
    # THEN the failure names the extension, its exit status and what it said
    message = "extension minimal exited with status 3; last output: minimal: the configuration is not there yet"
    assert failed.value.error_type == "Extension.Crash" and failed.value.message == message
    assert (first.phase, first.status, first.error_type, first.error_message) == (
        "init", "error", "Extension.Crash", message,
    )  # fmt: skip
    assert "minimal: the configuration is not there yet\n" in first.output["ext-minimal-1"]
    # and the platform reported it, as Lambda does, before init ran again within the invoke
    done = [e["record"] for e in emitted if e["type"] == "platform.initRuntimeDone"]
    assert done[0] == {"initializationType": "on-demand", "phase": "init", "status": "error",
                       "errorType": "Extension.Crash"}  # fmt: skip
    assert (second.phase, second.status) == ("invoke", "success")
    assert record.status == "success" and record.init is second
    # and the new extension received the re-init's own telemetry
    starts = [e["record"]["phase"] for e in seen(out).telemetry if e["type"] == "platform.initStart"]
    assert starts == ["invoke"]


async def test_an_extension_that_reports_an_init_error_is_named_with_its_message(tmp_path: Path) -> None:
    config, _ = environment(tmp_path, behaviour="init-error")
    async with Emulator(config) as emulator:
        with pytest.raises(InitFailed):
            await emulator.start()
        failed_again = await emulator.invoke(b"{}")
        emitted = list(emulator.telemetry.emitted)
    init = failed_again.init
    assert init is not None and (init.phase, init.error_type) == ("invoke", "Extension.InitError")
    assert init.error_message == "extension minimal reported Extension.ConfigInvalid: MINIMAL_SETTING must be set"
    assert failed_again.status == "error" and failed_again.error_message == init.error_message
    extension = next(e["record"] for e in emitted if e["type"] == "platform.extension")
    assert extension == {"name": "minimal", "state": "InitError", "events": ["INVOKE", "SHUTDOWN"],
                         "errorType": "Extension.ConfigInvalid"}  # fmt: skip


async def test_an_init_that_never_ends_times_out_naming_who_it_waited_for(tmp_path: Path) -> None:
    config, _ = environment(tmp_path, behaviour="no-next", init_timeout_s=1.5)
    async with Emulator(config) as emulator:
        with pytest.raises(InitFailed) as failed:
            await emulator.start()
        init = emulator.inits[-1]
    assert (init.status, init.error_type) == ("timeout", "Sandbox.Timeout")
    assert failed.value.message == "init timed out after 1.5 s waiting for extension minimal to call /next"


async def test_an_extension_that_cannot_be_started_is_a_launch_error(tmp_path: Path) -> None:
    config, _ = environment(tmp_path)
    assert config.layer is not None
    (config.layer / "extensions" / "minimal").chmod(0o644)  # not executable
    async with Emulator(config) as emulator:
        with pytest.raises(InitFailed) as failed:
            await emulator.start()
    assert failed.value.error_type == "Extension.LaunchError"
    assert failed.value.message.startswith("extension minimal: /opt/extensions/minimal could not be started")
    assert "Permission denied" in failed.value.message


def test_the_command_line_says_an_init_failure_in_one_line_and_writes_the_records(tmp_path: Path) -> None:
    # GIVEN a layer whose extension fails its init every time
    config, _ = environment(tmp_path, behaviour="init-error")
    records = tmp_path / "records.json"
    command = [sys.executable, "-m", "lambda_emulator", "run", "--layer", str(config.layer), "--invocations", "2",
               "--env", "MINIMAL_OUT=/tmp/minimal.jsonl", "--env", "MINIMAL_MODE=init-error",
               "--json", str(records)]  # fmt: skip
    # WHEN the command line runs it
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    # THEN it exits 1 with one line naming the extension and its error, and no traceback
    assert completed.returncode == 1
    lines = [line for line in completed.stderr.splitlines() if "init failed" in line]
    assert lines == [
        "lambda_emulator: init failed (Extension.InitError): extension minimal reported Extension.ConfigInvalid: "
        "MINIMAL_SETTING must be set [3 times]"
    ]
    assert "Traceback" not in completed.stderr + completed.stdout
    # and the records hold every init (the first, and one per invoke), with the extension's output
    written = orjson.loads(records.read_bytes())
    assert [(i["phase"], i["error_type"]) for i in written["inits"]] == [
        ("init", "Extension.InitError"), ("invoke", "Extension.InitError"), ("invoke", "Extension.InitError"),
    ]  # fmt: skip
    assert [i["status"] for i in written["invokes"]] == ["error", "error"]
    assert "ext-minimal-1" in written["inits"][0]["output"]


async def test_a_function_that_fails_at_import_is_a_runtime_init_error(tmp_path: Path) -> None:
    # GIVEN a handler module that raises while it is imported (awslambdaric reports it to /runtime/init/error
    # with the exception's class name as its type, which the platform keeps as Runtime.Unknown)
    (tmp_path / "broken.py").write_text('raise RuntimeError("the handler cannot load its settings")\n')
    config, _ = environment(tmp_path, runtime=AwsLambdaRic(tmp_path / "broken.py"), layer=None)
    async with Emulator(config) as emulator:
        with pytest.raises(InitFailed) as failed:
            await emulator.start()
        init = emulator.inits[-1]
    assert failed.value.error_type == "Runtime.Unknown"
    assert failed.value.message == "runtime reported Runtime.Unknown: the handler cannot load its settings"
    assert any("RuntimeError: the handler cannot load its settings" in line for line in init.output["runtime-1"])
