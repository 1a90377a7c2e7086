"""Unit: the native build's Nuitka package configuration (build/nuitka-package.config.yml) against this Python's
standard library, without building. Nuitka applies a replacement that no longer matches silently, and a module
whose import was removed but whose name is still used fails only when that line runs: both are caught here.
(The built binary's start-up imports are checked by tests/integration/test_startup_imports.py.)"""

from __future__ import annotations

import builtins
import dis
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "build" / "nuitka-package.config.yml"
ENTRIES: list[dict[str, Any]] = yaml.safe_load(CONFIG.read_text())
RULES: dict[str, list[dict[str, Any]]] = {e["module-name"]: e["anti-bloat"] for e in ENTRIES if "anti-bloat" in e}


def source_of(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return Path(spec.origin).read_text()


def patched(module: str, rules: list[dict[str, Any]]) -> str:
    """The module's source as Nuitka compiles it: each rule in turn, as its anti-bloat plugin applies them."""
    source = source_of(module)
    for rule in rules:
        if "module_code" in rule:
            source = str(rule["module_code"])
        for old, new in rule.get("replacements_plain", {}).items():
            source = source.replace(old, new)
    return source


def global_names(code: CodeType) -> tuple[set[str], set[str]]:
    """(names read as globals anywhere in the module, names the module body binds)."""
    loaded: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        for instruction in dis.get_instructions(current):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                loaded.add(str(instruction.argval))
        stack += [const for const in current.co_consts if isinstance(const, CodeType)]
    bound = {str(i.argval) for i in dis.get_instructions(code) if i.opname in ("STORE_NAME", "STORE_GLOBAL")}
    return loaded, bound


def undefined_globals(source: str, name: str) -> set[str]:
    loaded, bound = global_names(compile(source, name, "exec"))
    return loaded - bound - set(dir(builtins)) - {"__file__", "__name__", "__package__", "__spec__", "__path__"}


@pytest.mark.parametrize("module", RULES)
def test_every_replacement_still_matches_this_pythons_source(module: str) -> None:
    source = source_of(module)
    missing = [old for rule in RULES[module] for old in rule.get("replacements_plain", {}) if old not in source]
    assert missing == []


@pytest.mark.parametrize("module", RULES)
def test_the_changed_module_compiles_and_uses_no_name_it_no_longer_defines(module: str) -> None:
    original, changed = source_of(module), patched(module, RULES[module])
    compile(changed, module, "exec")
    if "import *" in original:
        return  # star imports bind names no static reading can list (asyncio's __init__); compiling is the check
    assert undefined_globals(changed, module) - undefined_globals(original, module) == set()


def test_pre_import_code_compiles() -> None:
    codes = [code for e in ENTRIES for imports in e.get("implicit-imports", []) for code in imports["pre-import-code"]]
    assert codes
    for code in codes:
        compile(code, "pre-import-code", "exec")


def replaced(module: str) -> ModuleType:
    stub = ModuleType(module)
    exec(compile(patched(module, RULES[module]), module, "exec"), stub.__dict__)
    return stub


def test_the_replaced_inspect_keeps_what_nuitkas_runtime_patches_and_behaves_as_cpythons() -> None:
    """nuitka/build/static_src/InspectPatcher.c: getgeneratorstate, getcoroutinestate and their constants, and
    _get_code_position (3.11+), called through for objects that are not compiled."""
    import inspect

    stub = replaced("inspect")
    for name in ("GEN_CREATED", "GEN_RUNNING", "GEN_SUSPENDED", "GEN_CLOSED", "CORO_CREATED", "CORO_RUNNING",
                 "CORO_SUSPENDED", "CORO_CLOSED"):  # fmt: skip
        assert getattr(stub, name) == getattr(inspect, name)

    def generator() -> Any:
        yield 1

    async def coroutine() -> None:
        return None

    states = []
    for make, state in ((generator, "getgeneratorstate"), (coroutine, "getcoroutinestate")):
        created, started, closed = make(), make(), make()
        if state == "getgeneratorstate":
            next(started)  # type: ignore[arg-type]
        closed.close()
        for obj in (created, started, closed):
            states.append((getattr(stub, state)(obj), getattr(inspect, state)(obj)))
        created.close()
        started.close()
    assert all(ours == cpythons for ours, cpythons in states) and len({s for s, _ in states}) == 5
    code = test_the_replaced_inspect_keeps_what_nuitkas_runtime_patches_and_behaves_as_cpythons.__code__
    for index in (-1, 0, 2, 10, 40):
        assert stub._get_code_position(code, index) == inspect._get_code_position(code, index)  # type: ignore[attr-defined]


def test_nothing_the_extension_imports_needs_the_real_inspect() -> None:
    """The replaced inspect would fail a module that calls another of its functions: none of the extension's
    modules, nor the standard library's modules they import, at init or for the S3 client, imports it."""
    program = "import sys, telemetry_ext.app, telemetry_ext.pipeline.sink, telemetry_ext.pipeline.writer, "
    program += "telemetry_ext.log; print(sorted(m for m in sys.modules if m.split('.')[0] == 'inspect'))"
    done = subprocess.run([sys.executable, "-S", "-c", program], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
