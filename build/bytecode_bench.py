"""What precompiled bytecode saves at a cold start, per CPython: the interpreted layer's start-up imports
(`import telemetry_ext.__main__`, which loads everything the extension needs before registering) with the
layer's bytecode, and without it as on a read-only /opt (every start compiles the source again).

    python build/bytecode_bench.py [--runs 20] [--zip dist/telemetry-ext-interpreted-x86_64.zip]

Measures the CPU time (user + sys) of each process, interleaved, at full CPU. At 128 MB Lambda gives 128/1769
of a core, so a CPU millisecond there is about 13.8 ms of wall time; the table shows that figure too. Writes
dist/bench/bytecode.json and bytecode.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from layer_interpreted import PYTHON_VERSIONS, find_interpreters

REPO = Path(__file__).resolve().parents[1]
AT_128_MB = 1769 / 128  # wall time per CPU time under Lambda's CPU share at 128 MB
PROGRAM = "import telemetry_ext.__main__"
# In one process, the two ways to get the extension's code objects, each timed at its best of 20: compiling
# every module's source (what a start without bytecode does) and unmarshalling its bytecode (with it)
DIRECT = """
import marshal, pathlib, sys, time
root = pathlib.Path(sys.argv[1])
files = sorted((root / "telemetry_ext").rglob("*.py")) + [root / "orjson" / "__init__.py"]
sources = [(path.read_bytes(), str(path)) for path in files]
tag = sys.implementation.cache_tag
codes = [(path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc").read_bytes()[16:] for path in files]
def best(work):
    times = []
    for _ in range(20):
        started = time.process_time(); work(); times.append(time.process_time() - started)
    return min(times) * 1000
compiling = best(lambda: [compile(s, n, "exec", dont_inherit=True) for s, n in sources])
print(compiling, best(lambda: [marshal.loads(c) for c in codes]))
"""


def cpu_ms(python: Path, layer_python: Path) -> float:
    """CPU time of one interpreter start that imports the extension (nothing written: PYTHONDONTWRITEBYTECODE)."""
    env = {
        "PYTHONPATH": str(layer_python),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONSAFEPATH": "1",
        "PATH": "/usr/bin:/bin",
    }
    process = subprocess.Popen([str(python), "-c", PROGRAM], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bytecode_bench: error: {python} could not import the layer (exit {status})")
    return (usage.ru_utime + usage.ru_stime) * 1000


def direct_ms(python: Path, layer_python: Path) -> tuple[float, float]:
    """(compiling the sources, loading the bytecode), CPU ms, best of 20, in one process."""
    result = subprocess.run([str(python), "-c", DIRECT, str(layer_python)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"bytecode_bench: error: {python} could not time the layer: {result.stderr.strip()[-300:]}")
    compiling, loading = result.stdout.split()
    return float(compiling), float(loading)


def layers(archive: Path, folder: Path) -> dict[str, Path]:
    """The layer as built, and the same without any __pycache__ (what a layer without bytecode gives)."""
    zipfile.ZipFile(archive).extractall(folder / "bytecode")
    shutil.copytree(folder / "bytecode", folder / "source", ignore=shutil.ignore_patterns("__pycache__"))
    return {mode: folder / mode / "telemetry-ext" / "python" for mode in ("bytecode", "source")}


def measure(archive: Path, runs: int) -> dict[str, Any]:
    interpreters = find_interpreters(list(PYTHON_VERSIONS), create=False)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as temporary:
        paths = layers(archive, Path(temporary))
        samples: dict[str, dict[str, list[float]]] = {v: {"bytecode": [], "source": []} for v in interpreters}
        for _ in range(runs):
            for version, python in interpreters.items():
                for mode, layer_python in paths.items():
                    samples[version][mode].append(cpu_ms(python, layer_python))
        for version, modes in samples.items():
            with_pyc, without = statistics.median(modes["bytecode"]), statistics.median(modes["source"])
            compiling, loading = direct_ms(interpreters[version], paths["bytecode"])
            results[version] = {
                "compile_sources_cpu_ms": round(compiling, 1),
                "load_bytecode_cpu_ms": round(loading, 1),
                "interpreter": str(interpreters[version]),
                "cpu_ms_with_bytecode": round(with_pyc, 1),
                "cpu_ms_without_bytecode": round(without, 1),
                "compile_cpu_ms": round(without - with_pyc, 1),
                "compile_wall_ms_at_128mb": round((without - with_pyc) * AT_128_MB),
                "runs": runs,
            }
    return {"missing": [v for v in PYTHON_VERSIONS if v not in interpreters], "versions": results}


def table(figures: dict[str, Any], context: str) -> str:
    lines = [
        f"Start-up imports of the interpreted layer, CPU ms (median), {context}",
        "",
        "| CPython | start, with bytecode | start, without | difference (= wall ms at 128 MB) "
        "| compiling the sources / loading the bytecode, in one process (best of 20) |",
        "|---|---|---|---|---|",
    ]
    for version, row in figures["versions"].items():
        lines.append(
            f"| {version} | {row['cpu_ms_with_bytecode']} | {row['cpu_ms_without_bytecode']} "
            f"| +{row['compile_cpu_ms']} (+{row['compile_wall_ms_at_128mb']}) "
            f"| {row['compile_sources_cpu_ms']} / {row['load_bytecode_cpu_ms']} |"
        )
    lines += [f"| {v} | not measured: no CPython {v} on this machine | | | |" for v in figures["missing"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="starts per interpreter and mode (default 20)")
    parser.add_argument("--zip", type=Path, default=REPO / "dist" / "telemetry-ext-interpreted-x86_64.zip")
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "bench")
    args = parser.parse_args()
    if not args.zip.exists():
        raise SystemExit(
            f"bytecode_bench: error: {args.zip} is missing: scripts/build.sh --arch x86_64 --flavor interpreted"
        )
    figures = measure(args.zip, args.runs)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")  # fmt: skip
    context = f"{os.uname().machine}, {cpu}, {time.strftime('%Y-%m-%d', time.gmtime())}, {args.runs} runs"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bytecode.json").write_text(json.dumps({"context": context, **figures}, indent=2) + "\n")
    text = table(figures, context)
    (args.out / "bytecode.md").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
