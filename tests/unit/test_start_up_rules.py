"""Unit: the rules that keep the extension's start-up cheap, read from its source (build/README.md, "Start-up").

- typing is imported for the type checker only (`if TYPE_CHECKING:`, telemetry_ext/__init__.py): importing it
  costs the native build ~2 ms of every cold start, and nothing else there imports it;
- no dataclasses: they compile generated code at import (telemetry_ext/record.py says what replaces them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "telemetry_ext"
MODULES = sorted(PACKAGE.rglob("*.py"))


def imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


def imports_outside_type_checking(tree: ast.Module) -> list[str]:
    """Every module imported by code that runs (anything not inside an `if TYPE_CHECKING:` block)."""
    found: list[str] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            stack += node.orelse
            continue
        found += imported_modules(node)
        stack += ast.iter_child_nodes(node)
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_typing_only_for_the_type_checker_and_no_dataclasses(path: Path) -> None:
    imports = imports_outside_type_checking(ast.parse(path.read_text()))
    assert [m for m in imports if m.split(".")[0] in ("typing", "dataclasses")] == []


def test_the_rule_sees_an_import_that_runs() -> None:
    source = "from telemetry_ext import TYPE_CHECKING\nif TYPE_CHECKING:\n    import typing\n"
    source += "else:\n    import re, dataclasses\n"
    assert sorted(imports_outside_type_checking(ast.parse(source))) == ["dataclasses", "re", "telemetry_ext"]
