"""What the extension's CPU per invoke is made of: each part driven alone, counted in instructions and CPU time.

    .venv/bin/python scripts/bench/invoke_cpu.py [--invokes 200] [--rounds 3] [--out dist/bench]

Each layer (interpreted, native) runs as Lambda runs it (its launcher), against a driver playing Lambda's part
(tests/support/lambda_driver.py), on a full core, no emulator. A part is measured as the difference between a run
that does it N times and one that does not, so start-up and SHUTDOWN cancel out:
- `invoke`: an INVOKE answered on /next and the next /next sent (the NEXT wake-up), nothing else;
- `post`: one telemetry POST on a kept-alive connection, as Lambda sends them (a platform.start and a log line;
  or a platform.runtimeDone and the previous invoke's platform.report), answered 200, decoded, buffered;
- `flush`: the S3 write of one invoke's events with FLUSH_INTERVAL_MS=0 (a PUT to a local S3 server over plain
  HTTP: gzip, SHA-256, SigV4, the writer's thread and its WRITTEN wake-up), beyond the invoke and its POSTs;
- `freeze`: a freeze and thaw of the idle extension (SIGSTOP/SIGCONT of its process group, as the emulator's
  freezer stops every thread: what each thread pays to stop and restart its wait).
Instructions: user space, every thread, by callgrind (the same count on a busy machine, within the few thousand a
run's timing moves). CPU: user plus system time of every process and thread of the launcher's (a cgroup of its
own, nanoseconds: startup.py's CpuAccount), median of rounds; it includes the kernel's side (syscalls, wake-ups)
that callgrind does not see.

Writes invoke_cpu.json and invoke_cpu.md: per part and flavour, the cost of one, and per invoke as the comparison's
CPU-bound sessions make them (their POSTs, PUTs and freezes per invoke, from `--per-invoke`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).parent))

from startup import CpuAccount, thread_cpu_ms  # noqa: E402

from lambda_emulator.sandbox.layers import unpack_layer  # noqa: E402
from tests.support.lambda_driver import Driver, driving  # noqa: E402
from tests.support.s3 import S3Server, free_port, start_s3_server  # noqa: E402

FLAVOURS = ("interpreted", "native")
PARTS = ("invoke", "post", "flush", "freeze")
LAUNCHER = Path("extensions") / "telemetry-ext"
STAMP = "2026-12-08T10:00:00.000Z"


def start_events(request_id: str) -> list[dict[str, Any]]:
    return [
        {"time": STAMP, "type": "platform.start", "record": {"requestId": request_id, "version": "$LATEST"}},
        {"time": STAMP, "type": "function", "record": f"hashed 277 blocks for {request_id}\n"},
    ]


def end_events(request_id: str, previous: str) -> list[dict[str, Any]]:
    report = {"requestId": previous, "status": "success",
              "metrics": {"durationMs": 152.3, "billedDurationMs": 153, "memorySizeMB": 128, "maxMemoryUsedMB": 41},
              "spans": [{"name": "extensionOverhead", "start": STAMP, "durationMs": 0.2}]}  # fmt: skip
    done = {"requestId": request_id, "status": "success", "metrics": {"durationMs": 150.1, "producedBytes": 60},
            "spans": [{"name": "responseLatency", "start": STAMP, "durationMs": 0.1},
                      {"name": "responseDuration", "start": STAMP, "durationMs": 0.0}]}  # fmt: skip
    return [{"time": STAMP, "type": "platform.runtimeDone", "record": done},
            {"time": STAMP, "type": "platform.report", "record": report}]  # fmt: skip


class KeptAlive:
    """Lambda's dispatcher: POSTs on one kept-alive connection, each waiting for its 200."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> None:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"POST / HTTP/1.1\r\nHost: sandbox.localdomain:{self.port}\r\nContent-Type: application/json\r\n"
        self.writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await self.writer.drain()
        answer = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        assert answer.startswith(b"HTTP/1.1 200"), answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def drive(driver: Driver, part: str, count: int, s3: S3Server, bucket: str) -> None:
    """`count` of `part` after init, then SHUTDOWN and the exit."""
    import orjson

    await driver.until_waiting()
    await until_settled(driver.process.pid)
    dispatcher = KeptAlive(driver.listener_port)
    previous = "r-0"
    for number in range(count):
        request_id = f"r-{number + 1}"
        if part in ("invoke", "flush"):
            driver.invoke(request_id)
            await asyncio.sleep(0)
            await driver.until_waiting()
        if part in ("post", "flush"):
            await dispatcher.post(orjson.dumps(start_events(request_id)))
            await dispatcher.post(orjson.dumps(end_events(request_id, previous)))
        if part == "flush":
            await until_written(s3, bucket, number + 1)
        if part == "freeze":
            driver.freeze()
            await asyncio.sleep(0.002)
            driver.thaw()
            await asyncio.sleep(0.002)
        previous = request_id
    dispatcher.close()
    deadline = driver.shutdown()
    await driver.exited(deadline)


async def until_settled(pid: int) -> None:
    """Until the extension has done what its first /next set going (this checkout's writer's thread loads the S3
    client then; an older build's executor did the same): no thread of it has run for 0.2 s. What that costs is
    the first invoke's, not a part's (under valgrind it takes seconds, and moves the counts)."""
    last, still_since = -1.0, time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        total = thread_cpu_ms(pid)
        if total != last:
            last, still_since = total, time.monotonic()
        elif time.monotonic() - still_since >= 0.2:
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("the extension did not settle within 60 s of its first /next")


async def until_written(s3: S3Server, bucket: str, objects: int) -> None:
    """Until the S3 server holds `objects` objects (the flush of each invoke is done before the next)."""
    for _ in range(2000):
        if len(s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])) >= objects:
            return
        await asyncio.sleep(0.005)
    raise RuntimeError(f"the flush of invoke {objects} did not land")


def run_env(flavour: str, s3: S3Server, bucket: str, part: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_FUNCTION_NAME": "bench",
           **s3.extension_env(bucket, flush_interval_ms="0" if part == "flush" else "600000")}  # fmt: skip
    if "interpreted" in flavour:  # a layer's name: "interpreted", "before-interpreted" (--layer)
        env["TELEMETRY_EXT_PYTHON"] = sys.executable
    return env


async def one_run(launcher: Path, flavour: str, part: str, count: int, s3: S3Server, valgrind: bool) -> dict[str, Any]:
    """CPU (ms) of the extension's whole life with `count` of `part`; with `valgrind`, its instructions instead."""
    bucket = s3.new_bucket()
    env = run_env(flavour, s3, bucket, part)
    program = launcher
    if valgrind:
        wrapper = launcher.parent / "valgrind-telemetry-ext"
        counts = launcher.parent / f"callgrind-{flavour}-{part}-{count}.txt"
        wrapper.write_text(f"#!/bin/sh\nexec valgrind --tool=callgrind --trace-children=yes "
                           f"--callgrind-out-file=/dev/null --log-file={counts} {launcher} \"$@\"\n")  # fmt: skip
        wrapper.chmod(0o755)
        program = wrapper
    account = CpuAccount.create()
    if account is None and not valgrind:
        raise SystemExit("invoke_cpu: error: no cgroup can be made here (root and a cgroup file system are needed)")
    try:
        async with driving(program, env, free_port(), account.enter if account else None) as driver:
            await drive(driver, part, count, s3, bucket)
            cpu_ms = account.cpu_ms() if account else 0.0
    finally:
        if account:
            account.remove()
    if valgrind:
        return {"instructions": sum(int(n) for n in re.findall(r"Collected : (\d+)", counts.read_text()))}
    return {"cpu_ms": cpu_ms}


def measure(layers: Mapping[str, Path], count: int, rounds: int, log: Any = print) -> dict[str, Any]:
    s3 = start_s3_server()
    samples: dict[str, dict[str, Any]] = {f: {p: {"cpu_ms": [], "instructions": None} for p in PARTS} for f in layers}
    base: dict[str, list[float]] = {f: [] for f in layers}
    try:
        for round_number in range(rounds):
            for flavour, layer in layers.items():
                launcher = layer / LAUNCHER
                base[flavour].append(asyncio.run(one_run(launcher, flavour, "invoke", 0, s3, False))["cpu_ms"])
                for part in PARTS:
                    total = asyncio.run(one_run(launcher, flavour, part, count, s3, False))["cpu_ms"]
                    samples[flavour][part]["cpu_ms"].append((total - base[flavour][-1]) / count)
            log(f"  invoke_cpu round {round_number + 1}/{rounds}")
        if shutil.which("valgrind"):
            for flavour, layer in layers.items():
                launcher = layer / LAUNCHER
                zero = asyncio.run(one_run(launcher, flavour, "invoke", 0, s3, True))["instructions"]
                for part in PARTS:
                    total = asyncio.run(one_run(launcher, flavour, part, count, s3, True))["instructions"]
                    samples[flavour][part]["instructions"] = (total - zero) / count
                log(f"  invoke_cpu instructions: {flavour}")
    finally:
        s3.stop()
    return samples


def summarise(samples: Mapping[str, Mapping[str, Any]], per_invoke: Mapping[str, float]) -> dict[str, Any]:
    """Per flavour and part: the cost of one (median CPU µs, instructions); and the model of one invoke of the
    comparison's CPU-bound sessions: each part times how often an invoke has it."""
    out: dict[str, Any] = {}
    for flavour, parts in samples.items():
        figures = {part: {"cpu_us": round(statistics.median(v["cpu_ms"]) * 1000, 1),
                          "instructions_k": None if v["instructions"] is None else round(v["instructions"] / 1000, 1)}
                   for part, v in parts.items()}  # fmt: skip
        # a flush run also makes the invoke and its POSTs: the write alone is what it adds to them
        for key in ("cpu_us", "instructions_k"):
            values = [figures[p][key] for p in ("flush", "invoke", "post")]
            if None not in values:
                figures["flush"][key + "_alone"] = round(values[0] - values[1] - 2 * values[2], 1)
        model = {}
        for key in ("cpu_us", "instructions_k"):
            terms = {"invoke": figures["invoke"][key], "post": figures["post"][key] / 2,
                     "freeze": figures["freeze"][key], "flush": figures["flush"].get(key + "_alone")}  # fmt: skip
            if None not in terms.values():
                model[key] = round(sum(terms[p] * per_invoke[p] for p in terms), 1)
        out[flavour] = {"parts": figures, "per_invoke": model}
    if {"native", "interpreted"} <= out.keys():
        native, interpreted = out["native"]["per_invoke"], out["interpreted"]["per_invoke"]
        out["native_over_interpreted"] = {k: round(native[k] / interpreted[k], 3) for k in native if interpreted.get(k)}
    return out


PART_NAMES = {
    "invoke": "INVOKE: its /next answer read, the next /next sent (one NEXT wake-up)",
    "post": "telemetry POST pair (platform.start + a log line; runtimeDone + report), each answered and decoded",
    "flush": "S3 write of one invoke's events (gzip, SHA-256, SigV4, PUT, the writer's thread), alone",
    "freeze": "a freeze and thaw (every thread stops and restarts its wait)",
}


def markdown(summary: Mapping[str, Any], per_invoke: Mapping[str, float]) -> str:
    flavours = [f for f in summary if f != "native_over_interpreted"]
    lines = ["| part (one of it) | " + " | ".join(f"{f}: CPU µs / k instructions" for f in flavours)
             + " | per invoke |", "|---" * (len(flavours) + 2) + "|"]  # fmt: skip
    for part in PARTS:
        cells = []
        for flavour in flavours:
            figures = summary[flavour]["parts"][part]
            cpu, instructions = (
                figures.get("cpu_us_alone", figures["cpu_us"]),
                figures.get("instructions_k_alone", figures["instructions_k"]),
            )
            cells.append(f"{cpu:g} / {instructions if instructions is not None else '-'}")
        lines.append(f"| {PART_NAMES[part]} | " + " | ".join(cells) + f" | {per_invoke[part]:g} |")
    totals = [f"{summary[f]['per_invoke'].get('cpu_us', '-')} / {summary[f]['per_invoke'].get('instructions_k', '-')}"
              for f in flavours]  # fmt: skip
    lines.append("| **one invoke of the CPU-bound comparison, modelled** | " + " | ".join(totals) + " | |")
    ratio = summary.get("native_over_interpreted")
    if ratio:
        lines += ["", "Native / interpreted, per invoke: " + ", ".join(f"{k} {v:.2f}" for k, v in ratio.items())]
    return "\n".join(lines) + "\n"


def unpacked_layers(scratch: Path, extra: Mapping[str, Path], arch: str = "x86_64") -> dict[str, Path]:
    """This checkout's two layers, and `extra` ones (name -> zip: another commit's, side by side)."""
    zips = {**{name: path for name, path in extra.items()},
            **{f: REPO / "dist" / f"telemetry-ext-{f}-{arch}.zip" for f in FLAVOURS}}  # fmt: skip
    layers = {}
    for name, zip_path in zips.items():
        if not zip_path.exists():
            raise SystemExit(f"invoke_cpu: error: {zip_path} is missing (scripts/build.sh builds this checkout's)")
        unpack_layer(zip_path, scratch / name)
        layers[name] = scratch / name
    return layers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invokes", type=int, default=200, help="each part's count in a run (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="CPU-time runs per part and flavour (default 3)")
    parser.add_argument(
        "--per-invoke",
        default="invoke=1,post=1.4,freeze=1,flush=0.025",
        help="how often an invoke of the comparison's CPU-bound sessions has each part: POSTs and PUTs per invoke "
        "as those sessions made them (default invoke=1,post=1.4,freeze=1,flush=0.025)",
    )
    parser.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="NAME=ZIP",
        help="another layer to measure beside this checkout's, e.g. before-native=/tmp/old.zip (a name with "
        "'interpreted' in it runs on this Python); repeatable",
    )
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "bench")
    args = parser.parse_args()
    extra = {}
    for item in args.layer:
        name, equals, path = item.partition("=")
        if not equals or not name or name in FLAVOURS:
            parser.error(f"--layer: expected NAME=ZIP with a name other than {' or '.join(FLAVOURS)}, got {item!r}")
        extra[name] = Path(path)
    try:
        per_invoke = {k: float(v) for k, v in (item.split("=") for item in args.per_invoke.split(","))}
    except ValueError:
        parser.error(f"--per-invoke: expected part=number pairs, got {args.per_invoke!r}")
    if set(per_invoke) != set(PARTS):
        parser.error(f"--per-invoke: give each of {', '.join(PARTS)} once")
    with tempfile.TemporaryDirectory(prefix="invoke-cpu-") as scratch:
        samples = measure(unpacked_layers(Path(scratch), extra), args.invokes, args.rounds)
    summary = summarise(samples, per_invoke)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    context = {"commit": commit.stdout.strip(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "invokes per run": args.invokes, "rounds": args.rounds, "per invoke": per_invoke}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "invoke_cpu.json").write_text(json.dumps({"context": context, "summary": summary,
                                                          "samples": samples}, indent=1) + "\n")  # fmt: skip
    text = "# The extension's CPU per invoke, part by part\n\n" + "".join(f"- {k}: {v}\n" for k, v in context.items())
    text += "\n" + markdown(summary, per_invoke)
    (args.out / "invoke_cpu.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
