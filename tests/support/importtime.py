"""The interpreter's import profile (`-X importtime`, PYTHONPROFILEIMPORTTIME=1, which the native binary honours
too), cut where the extension's init ends.

Each line is "import time: self [us] | cumulative | name", printed when a module's import ends, after the modules
it imported, the name indented two spaces per level of nesting. The extension loads its S3 client in its writer's
thread once its first /next is on the wire (telemetry_ext/pipeline/writer.py, app.py), so a driver that stops it
at that /next may catch the start of that load. Init's imports are the lines before the load's: before the import
tree of `telemetry_ext.pipeline.sink` (its nested lines, then its own at the top level), or, if the extension was
stopped in the middle of it, the nested lines the profile ends with. While the extension waits on /next its main
thread imports nothing and has finished every import it began, so the cut is exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple

LOADED_AFTER_INIT: Final = "telemetry_ext.pipeline.sink"


class Imported(NamedTuple):
    name: str
    self_us: int
    depth: int


def imports(lines: Iterable[str]) -> list[Imported]:
    """Every module the profile names, in the order their imports ended."""
    found = []
    for line in lines:
        fields = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(fields) != 3 or "imported package" in fields[2]:
            continue
        self_us, _, name = fields
        found.append(Imported(name.strip(), int(self_us), (len(name) - len(name.lstrip()) - 1) // 2))
    return found


def init_imports(lines: Iterable[str]) -> list[Imported]:
    """The modules imported before the S3 client's load began (all of them if it did not)."""
    found = imports(lines)
    loaded = [i for i, m in enumerate(found) if m.name == LOADED_AFTER_INIT and m.depth == 0]
    end = loaded[0] if loaded else len(found)
    if end > 0 and found[end - 1].depth == 0 and not loaded:
        return found  # nothing of a load: the last import ended at the top level
    start = end
    while start > 0 and found[start - 1].depth > 0:  # the load's nested imports (all, if it was stopped midway)
        start -= 1
    return found[:start]
