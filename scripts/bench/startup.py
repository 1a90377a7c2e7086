"""Start-up of both layers, side by side: the CPU from exec to the first /next, and where it goes.

    .venv/bin/python scripts/bench/startup.py [--rounds 20] [--import-rounds 5] [--out dist/bench]

Each layer runs as Lambda runs it (its launcher, `extensions/telemetry-ext`), on a full core, no emulator, the
flavours interleaved round by round (interpreted, native, interpreted, ...):
- `refused`: the CPU of the whole process, exec to exit, when the Extensions API refuses the connection (start-up,
  imports, one refused register); what `perf stat` of the binary counts (user + system time, every thread);
- `first_next`: the CPU from exec to the moment the first `/next` reaches a fake Lambda API
  (tests/support/lambda_driver.py): register, the settings, the listener, subscribe, /next: the extension's init.
  Every process and thread of the launcher's exec chain counts (the launcher's own child processes too): the run
  gets a cgroup of its own (v2 `cpu.stat`, or v1 `cpuacct.usage`; nanoseconds), read while the extension waits on
  /next, with its peak RSS then. Without a cgroup, the kernel's per-thread run time of the extension's own
  process (/proc/<pid>/task/*/schedstat) is all there is, and the figure says so (`cpu_source`: "threads").
  Work the extension starts once that /next is on the wire may begin before the figures are read;
- `imports`: the same init with PYTHONPROFILEIMPORTTIME=1 (the native binary honours it too: Nuitka's loader runs
  inside the interpreter's import machinery), the self time of every module imported by the first /next (the
  S3 client's load cut off: tests/support/importtime.py), summed per top-level package. These times include
  the profiler's own overhead; they say where, not how much;
- `instructions`: the user-space instructions of the refused run, counted by valgrind's callgrind (once per flavour,
  when valgrind is installed): on a machine shared with other work, where CPU times move by ±20 % from one minute
  to the next, this count does not move.

Writes startup.json (every sample) and startup.md (medians and the import breakdown).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from lambda_emulator.sandbox.layers import unpack_layer  # noqa: E402
from tests.support.importtime import init_imports  # noqa: E402
from tests.support.lambda_driver import driving  # noqa: E402

FLAVOURS = ("interpreted", "native")
LAUNCHER = Path("extensions") / "telemetry-ext"
PYTHON_ENV = {"interpreted": {"TELEMETRY_EXT_PYTHON": sys.executable}, "native": {}}
SETTINGS = {
    "TELEMETRY_EXT_BUCKET": "startup-bench",
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "startup-bench",
    # On Lambda the listener's name, sandbox.localdomain, is in /etc/hosts; on this host it is not, and looking it
    # up would ask the host's resolver (a thread and a DNS query Lambda never makes). An address stands for it.
    "TELEMETRY_EXT_LISTENER_HOST": "127.0.0.1",
}


def base_env(flavour: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **SETTINGS, **PYTHON_ENV[flavour]}


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released): free to listen on, refused to connect to."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refused(launcher: Path, flavour: str) -> dict[str, float]:
    """CPU (user + system, every thread) and peak RSS of one run, exec to exit, against a refused API."""
    env = {**base_env(flavour), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{free_port()}"}
    process = subprocess.Popen([str(launcher)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    error = process.stderr.read().decode("utf-8", "replace")
    process.stderr.close()
    if process.returncode != 1 or "cannot register" not in error:
        raise RuntimeError(f"{flavour}: expected a refused registration, got exit {process.returncode}: {error}")
    return {"cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000, "peak_rss_mb": usage.ru_maxrss / 1024}


class CpuAccount:
    """A cgroup for one run, so that everything the launcher starts is counted: cgroup v2 (`cpu.stat`'s
    usage_usec, kept for every cgroup without any controller) or v1's cpuacct (`cpuacct.usage`, ns)."""

    _made = 0

    def __init__(self, path: Path, version: int) -> None:
        self.path, self.version = path, version

    @classmethod
    def create(cls) -> CpuAccount | None:
        """None where this process may not make a cgroup (no root, no cgroup file system)."""
        CpuAccount._made += 1
        name = f"telemetry-ext-startup-{os.getpid()}-{CpuAccount._made}"
        for line in Path("/proc/self/mounts").read_text().splitlines():
            _, mount, kind, options, *_ = line.split()
            if kind == "cgroup2" or (kind == "cgroup" and "cpuacct" in options.split(",")):
                path = Path(mount) / name
                try:
                    path.mkdir()
                except OSError:
                    continue
                return cls(path, 2 if kind == "cgroup2" else 1)
        return None

    def enter(self) -> None:
        """In the child, before exec: move it (and so all it starts) into the cgroup."""
        (self.path / "cgroup.procs").write_text("0")

    def cpu_ms(self) -> float:
        if self.version == 1:
            return int((self.path / "cpuacct.usage").read_text()) / 1e6
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"]) / 1e3

    def remove(self) -> None:
        for _ in range(50):  # the killed processes leave the cgroup as they are reaped
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.02)


def thread_cpu_ms(pid: int) -> float:
    """The CPU of every live thread of `pid`, in ms, from the scheduler's own accounting (nanoseconds)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
    return total / 1e6


def memory_mb(pid: int) -> dict[str, float]:
    """Peak RSS (VmHWM: with the mapped program and libraries) and the anonymous memory in use (RssAnon: what a
    memory cgroup charges the process for when its files were read before, as the emulator's are)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024, "anon_mb": int(fields["RssAnon"].split()[0]) / 1024}


async def first_next(launcher: Path, flavour: str, extra_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run until the extension waits on its first /next; its CPU (every process and thread of the launcher's, or
    the extension's threads only where no cgroup can be made: `cpu_source`) and memory then, and its output up to
    there (read to the end once the driver has stopped it)."""
    account = CpuAccount.create()
    env = {**base_env(flavour), **(extra_env or {})}
    try:
        async with driving(launcher, env, free_port(), account.enter if account else None) as driver:
            await driver.until_waiting()
            pid = driver.process.pid
            cpu, source = (account.cpu_ms(), "cgroup") if account else (thread_cpu_ms(pid), "threads")
            figures = {"cpu_ms": cpu, "cpu_source": source, **memory_mb(pid)}
            if not driver.subscriptions:
                raise RuntimeError(f"{flavour}: /next without a subscription: {''.join(driver.output)[-2000:]}")
    finally:
        if account:
            account.remove()
    return {**figures, "output": list(driver.output)}


def instructions(launcher: Path, flavour: str) -> int | None:
    """User-space instructions, exec to exit on a refused registration, of every program of the launcher's exec
    chain (sh, then the binary or python3), counted by callgrind; None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    env = {**base_env(flavour), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{free_port()}"}
    command = [valgrind, "--tool=callgrind", "--trace-children=yes", "--callgrind-out-file=/dev/null", str(launcher)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    counts = [int(n) for n in re.findall(r"==\d+== Collected : (\d+)", done.stderr)]
    if done.returncode != 1 or not counts:
        raise RuntimeError(f"{flavour} under valgrind: exit {done.returncode}: {done.stderr[-2000:]}")
    return sum(counts)


def import_self_times(lines: Iterable[str]) -> dict[str, int]:
    """Init's imports (before the S3 client's load, which starts once /next is on the wire) as {module: self µs}."""
    return {module.name: module.self_us for module in init_imports(lines)}


def by_package(times: Mapping[str, int]) -> dict[str, int]:
    grouped: dict[str, int] = defaultdict(int)
    for module, self_us in times.items():
        grouped[module.split(".")[0]] += self_us
    return dict(grouped)


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(statistics.median(values), 2) if values else None


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    q = statistics.quantiles(values, n=4)
    return round(q[0], 2), round(q[2], 2)


def measure(layers: Mapping[str, Path], rounds: int, import_rounds: int, log: Any = print) -> dict[str, Any]:
    """Every sample for both flavours, interleaved; `layers` maps a flavour to its unpacked layer folder."""
    samples: dict[str, dict[str, list[Any]]] = {f: {"refused": [], "first_next": [], "imports": []} for f in layers}
    for number in range(rounds):
        for flavour, layer in layers.items():
            samples[flavour]["refused"].append(refused(layer / LAUNCHER, flavour))
            result = asyncio.run(first_next(layer / LAUNCHER, flavour))
            samples[flavour]["first_next"].append(
                {k: result[k] for k in ("cpu_ms", "cpu_source", "peak_rss_mb", "anon_mb")}
            )
        log(f"  startup round {number + 1}/{rounds}: " + ", ".join(
            f"{f} {samples[f]['first_next'][-1]['cpu_ms']:.1f} ms" for f in layers))  # fmt: skip
    for _ in range(import_rounds):
        for flavour, layer in layers.items():
            result = asyncio.run(first_next(layer / LAUNCHER, flavour, {"PYTHONPROFILEIMPORTTIME": "1"}))
            samples[flavour]["imports"].append(import_self_times(result["output"]))
    for flavour, layer in layers.items():
        samples[flavour]["instructions"] = [instructions(layer / LAUNCHER, flavour)]
    return samples


def summarise(samples: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flavour, runs in samples.items():
        refused_cpu = [r["cpu_ms"] for r in runs["refused"]]
        next_cpu = [r["cpu_ms"] for r in runs["first_next"]]
        packages: dict[str, list[int]] = defaultdict(list)
        for times in runs["imports"]:
            for package, self_us in by_package(times).items():
                packages[package].append(self_us)
        out[flavour] = {
            "refused_cpu_median_ms": median(refused_cpu),
            "refused_cpu_quartiles_ms": quartiles(refused_cpu),
            "first_next_cpu_median_ms": median(next_cpu),
            "first_next_cpu_counts": "every process and thread (a cgroup)"
            if all(r.get("cpu_source") == "cgroup" for r in runs["first_next"])
            else "THREADS ONLY: the launcher's child processes are missing (no cgroup could be made)",
            "first_next_cpu_quartiles_ms": quartiles(next_cpu),
            "first_next_peak_rss_median_mb": median(r["peak_rss_mb"] for r in runs["first_next"]),
            "first_next_anon_median_mb": median(r["anon_mb"] for r in runs["first_next"]),
            "modules_imported": median(len(times) for times in runs["imports"]),
            "import_self_total_ms": median(sum(times.values()) / 1000 for times in runs["imports"]),
            "import_by_package_ms": {p: round(statistics.median(v) / 1000, 2) for p, v in packages.items()},
            "refused_instructions_m": _millions(runs.get("instructions", [None])[0]),
        }
    if "native" in out and "interpreted" in out:
        native, interpreted = out["native"], out["interpreted"]
        out["native_over_interpreted"] = {
            key: round(native[key] / interpreted[key], 3)
            for key in ("refused_cpu_median_ms", "first_next_cpu_median_ms", "refused_instructions_m")
            if native[key] and interpreted[key]
        }
    return out


def _millions(count: int | None) -> float | None:
    return None if count is None else round(count / 1e6, 1)


ROWS = (
    ("CPU exec → exit, refused registration, median (p25-p75) (ms)", "refused_cpu_median_ms",
     "refused_cpu_quartiles_ms"),
    ("CPU exec → first /next (init), median (p25-p75) (ms)", "first_next_cpu_median_ms",
     "first_next_cpu_quartiles_ms"),
    ("instructions exec → exit, refused registration (millions, callgrind)", "refused_instructions_m", None),
    ("peak RSS at the first /next (VmHWM, mapped files included), median (MB)", "first_next_peak_rss_median_mb", None),
    ("anonymous memory at the first /next (RssAnon), median (MB)", "first_next_anon_median_mb", None),
    ("modules imported by the first /next", "modules_imported", None),
    ("import self time by the first /next, with the profiler's overhead (ms)", "import_self_total_ms", None),
)  # fmt: skip


def markdown(summary: Mapping[str, Any], top: int = 14) -> str:
    flavours = [f for f in FLAVOURS if f in summary]
    lines = ["| start-up, full core | " + " | ".join(flavours) + " |", "|---" * (len(flavours) + 1) + "|"]
    for label, key, spread in ROWS:
        cells = []
        for flavour in flavours:
            value = summary[flavour][key]
            cell = "-" if value is None else f"{value:g}"
            if spread and value is not None:
                low, high = summary[flavour][spread]
                cell += f" ({low:g}-{high:g})"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    counted = {summary[f]["first_next_cpu_counts"] for f in flavours}
    lines += ["", "CPU to the first /next counts: " + "; ".join(sorted(counted))]
    ratio = summary.get("native_over_interpreted", {})
    if ratio:
        names = {"refused_cpu_median_ms": "CPU to exit", "first_next_cpu_median_ms": "CPU to the first /next",
                 "refused_instructions_m": "instructions to exit"}  # fmt: skip
        lines += ["", "Native / interpreted: " + ", ".join(f"{names[k]} {v:.2f}" for k, v in ratio.items())]
    totals: dict[str, float] = defaultdict(float)
    for flavour in flavours:
        for package, ms in summary[flavour]["import_by_package_ms"].items():
            totals[package] = max(totals[package], ms)
    ranked = sorted(totals, key=lambda p: -totals[p])
    lines += ["", "Import self time by the first /next, per top-level package, median (ms, with -X importtime's "
              "overhead; `-` not imported):", "", "| package | " + " | ".join(flavours) + " |",
              "|---" * (len(flavours) + 1) + "|"]  # fmt: skip
    for package in ranked[:top]:
        cells = [_ms(summary[f]["import_by_package_ms"].get(package)) for f in flavours]
        lines.append(f"| {package} | " + " | ".join(cells) + " |")
    rest = ranked[top:]
    if rest:
        cells = [_ms(sum(summary[f]["import_by_package_ms"].get(p, 0) for p in rest)) for f in flavours]
        lines.append(f"| {len(rest)} others | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def unpacked_layers(scratch: Path, arch: str = "x86_64") -> dict[str, Path]:
    layers = {}
    for flavour in FLAVOURS:
        zip_path = REPO / "dist" / f"telemetry-ext-{flavour}-{arch}.zip"
        if not zip_path.exists():
            raise SystemExit(f"startup: error: {zip_path} is missing: run scripts/build.sh --flavor {flavour}")
        unpack_layer(zip_path, scratch / flavour)
        layers[flavour] = scratch / flavour
    return layers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="runs of each measurement per flavour (default 20)")
    parser.add_argument("--import-rounds", type=int, default=5, help="runs with the import profiler (default 5)")
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "bench")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as scratch:
        samples = measure(unpacked_layers(Path(scratch)), args.rounds, args.import_rounds)
    summary = summarise(samples)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    context = {"commit": commit.stdout.strip(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "rounds": args.rounds, "import rounds": args.import_rounds,
               "machine": f"{os.cpu_count()} cores"}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    raw = {"context": context, "summary": summary, "samples": samples}
    (args.out / "startup.json").write_text(json.dumps(raw, indent=1) + "\n")
    text = "# Start-up: interpreted vs native\n\n" + "".join(f"- {k}: {v}\n" for k, v in context.items()) + "\n"
    text += markdown(summary)
    (args.out / "startup.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
