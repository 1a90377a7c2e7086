"""What each flavour imports by its first /next, read from the interpreter's own import profiler
(PYTHONPROFILEIMPORTTIME=1, which the native binary honours too), against a driver playing Lambda's part
(tests/support/lambda_driver.py).

Init imports what init needs, no more: the S3 client is loaded after init, in the writer's thread
(telemetry_ext/pipeline/writer.py; what the driver catches of that load is cut off by tests/support/importtime.py);
no module whose import builds enums, named tuples or regular expressions, nor a package (collections, json,
urllib) whose import does; and the native build replaces the inspect module that Nuitka's runtime imports with what
that runtime uses of it (build/nuitka-package.config.yml). A cut that silently stopped applying shows up here as a
module imported again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lambda_emulator.sandbox.layers import unpack_layer
from tests.support.importtime import init_imports
from tests.support.lambda_driver import driving
from tests.support.layers import FLAVOURS, Flavour
from tests.support.s3 import S3Server, free_port

pytestmark = pytest.mark.integration

AFTER_INIT = {
    "telemetry_ext.pipeline.sink", "telemetry_ext.pipeline.s3", "telemetry_ext.pipeline.sigv4",
    "telemetry_ext.pipeline.credentials", "telemetry_ext.pipeline.tls", "telemetry_ext.pipeline.retries",
    "telemetry_ext.pipeline.digests", "zlib", "binascii", "_ssl", "_sha256", "_sha2", "encodings.idna",
}  # fmt: skip
"""Modules of the S3 client, loaded in the writer's thread once the first /next is on the wire, in both flavours."""
NEVER_AT_START = {
    "asyncio", "orjson", "socket", "selectors", "ssl", "hashlib", "hmac", "random", "urllib", "urllib.parse",
    "datetime", "json", "re", "enum", "collections", "contextlib", "functools", "typing", "dataclasses", "logging",
    "tokenize", "linecache", "platform", "subprocess", "locale", "ast", "dis", "site", "runpy", "importlib.util",
}  # fmt: skip
"""What init must not import, in either flavour: each costs a millisecond or more of every cold start
(startup.py's import breakdown), for nothing init does."""


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.name)
async def test_init_imports_only_what_init_needs(
    flavour: Flavour, tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    # GIVEN the layer, with the interpreter's import profiler on
    layer = flavour.layer(tmp_path)
    if layer.is_file():
        unpack_layer(layer, tmp_path / "opt")
        layer = tmp_path / "opt"
    env = {**flavour.env, **s3_server.extension_env(bucket), "PYTHONPROFILEIMPORTTIME": "1"}
    # WHEN it registers, listens, subscribes and calls /next (and is stopped there)
    async with driving(layer / "extensions" / "telemetry-ext", env, free_port()) as driver:
        await driver.until_waiting()
    modules = {module.name for module in init_imports(driver.output)}
    # THEN the profiler saw the extension start, and none of what init does not need was imported
    assert {"telemetry_ext.loop", "telemetry_ext.lifecycle", "_json"} <= modules
    assert modules & AFTER_INIT == set()
    assert modules & NEVER_AT_START == set()


def test_the_profile_is_cut_where_the_s3_clients_load_begins() -> None:
    def line(name: str, depth: int) -> str:
        return f"import time:        10 |         20 | {'  ' * depth}{name}"

    init = [line("encodings", 1), line("os", 0), line("telemetry_ext.loop", 0)]
    load = [line("zlib", 2), line("gzip", 1)]
    cut = [[m.name for m in init_imports(lines)] for lines in
           (init, init + load, init + load + [line("telemetry_ext.pipeline.sink", 0), line("_ssl", 0)])]  # fmt: skip
    assert cut == [["encodings", "os", "telemetry_ext.loop"]] * 3
