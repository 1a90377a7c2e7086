"""Fails when any module of the project's packages imports itself through others: a cycle of imports.

    .venv/bin/python scripts/import_cycles.py [PACKAGE ...]   (default: telemetry_ext lambda_emulator telemetry_tools)

Every import counts, those under `if TYPE_CHECKING:` too: a cycle that only the type checker sees is still two
modules that cannot be read, changed or tested apart (lambda_emulator had one of seven modules that way). The graph
is grimp's (import-linter's own), so this sees what the contracts see; the cycles are the strongly connected
components of the module graph (Tarjan), each printed with one path around it and the lines that make it.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("telemetry_ext", "lambda_emulator", "telemetry_tools")


def strongly_connected(modules: Iterable[str], imports_of: dict[str, set[str]]) -> list[list[str]]:
    """The components of more than one module (or one that imports itself), each sorted; iterative Tarjan."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(imports_of.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, pending = work[-1]
            if pending:
                target = pending.pop()
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, sorted(imports_of.get(target, ()))))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1 or module in imports_of.get(module, ()):
                    found.append(sorted(component))
    return sorted(found)


def path_around(component: Sequence[str], imports_of: dict[str, set[str]]) -> list[str]:
    """One cycle through the component's first module: a breadth-first path back to it, inside the component."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for target in sorted(imports_of.get(module, set()) & members):
                if target == start:
                    path = [module]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in previous:
                    previous[target] = module
                    following.append(target)
        frontier = following
    return [start, start]


def main(argv: Sequence[str]) -> int:
    packages = list(argv) or list(PACKAGES)
    sys.path.insert(0, str(REPO))  # this checkout's packages, not the ones an editable install points at
    graph = grimp.build_graph(*packages, cache_dir=None)
    modules = {m for m in graph.modules if m.split(".")[0] in packages}
    imports_of = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    cycles = strongly_connected(modules, imports_of)
    for component in cycles:
        path = path_around(component, imports_of)
        print(f"import cycle of {len(component)} modules: {' -> '.join(path)}")
        for importer, imported in itertools.pairwise(path):
            for detail in graph.get_import_details(importer=importer, imported=imported)[:1]:
                print(f"  {importer.replace('.', '/')}.py:{detail['line_number']}: {detail['line_contents']}")
    if cycles:
        print(f"{len(cycles)} import cycle(s) in {', '.join(packages)}")
        return 1
    print(f"no import cycle among {len(modules)} modules of {', '.join(packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
