"""The picture that opens lambda_emulator/README.md is the package as it is: every package and module it names
exists, every one that exists is in it, its order is the import-linter layers contract's, and no module is long."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.emulator.harness import REPO

PACKAGE = REPO / "lambda_emulator"
MAX_LINES = 300
ENTRY = re.compile(r"^  (?P<package>[a-z_]+)/\s+(?P<modules>.*)$")
CONTINUATION = re.compile(r"^ {14}(?P<modules>[a-z_].*)$")


def picture() -> dict[str, list[str]]:
    """The README's first code block, read as {package: [the modules and subpackages it names, in order]}."""
    text = (PACKAGE / "README.md").read_text()
    assert text.startswith("# ") and "\n\n```\nlambda_emulator/\n" in text.split("\n## ", 1)[0], "it opens the README"
    block = text.split("```\nlambda_emulator/\n", 1)[1].split("```", 1)[0]
    drawn: dict[str, list[str]] = {}
    last = ""
    for line in block.splitlines():
        entry, more = ENTRY.match(line), CONTINUATION.match(line)
        if entry:
            last = entry["package"]
            drawn[last] = names(entry["modules"])
        elif more and last:
            drawn[last] += names(more["modules"])
    return drawn


def names(listed: str) -> list[str]:
    """`a · b · c/    (a remark)` -> ["a", "b", "c/"]."""
    return [item.split()[0] for item in re.sub(r"\(.*?\)", "", listed).split("·") if item.strip()]


def test_every_package_and_module_drawn_exists_and_every_one_that_exists_is_drawn() -> None:
    drawn = picture()
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert sorted(drawn) == packages
    for package, listed in drawn.items():
        folder = PACKAGE / package
        present = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
        present |= {f"{p.parent.name}/" for p in folder.glob("*/__init__.py")}
        assert sorted(listed) == sorted(present), package


def test_the_picture_is_in_the_order_of_the_layers_contract() -> None:
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [c for c in contracts if c["type"] == "layers" and c.get("containers") == ["lambda_emulator"]]
    ordered = [name.strip() for layer in layers["layers"] for name in layer.split("|")]
    assert ordered == list(picture())


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        str(p.relative_to(REPO)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_picture_is_not_read_from_an_empty_block() -> None:
    """The parser finds what is drawn (a picture it could not read would pass the tests above vacuously)."""
    drawn = picture()
    assert len(drawn) == 7 and "init" in drawn["phases"] and "cgroups/" in drawn["sandbox"]
    assert names("a · b_c · d/   (remark · not a module)") == ["a", "b_c", "d/"]
    assert Path(PACKAGE / "sim_runtime.py").is_file()
