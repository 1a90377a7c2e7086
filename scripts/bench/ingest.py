"""The listener's ingest rate: events/s decoded and buffered on one core, in-process and over real HTTP.

    .venv/bin/python scripts/bench/ingest.py [--events 200000] [--batch 1000] [--out dist/bench]

Workload: Telemetry API batches of `--batch` events shaped as Lambda sends them (compact JSON): 80 % plain-text
function log lines, 10 % JSON-format function log records, 10 % platform events (start, runtimeDone, report).
- in-process: `decode_batch` + `Batcher.ingest` over pre-built bodies (the extension's CPU per event);
- http: the real `TelemetryListener` pinned to one core, a client process pinned to the other POSTing the bodies
  one at a time on a keep-alive connection (as Lambda delivers: one batch in flight per subscriber).
Writes ingest.json and ingest.md (medians of --repeat runs).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# --source DIR measures another tree's telemetry_ext (e.g. `git worktree add /tmp/before <commit>`), so a change
# can be measured before and after, side by side on one machine. A tree from before the extension's own loop
# (issue 21: an asyncio listener) is measured by that tree's own copy of this script.
SOURCE = Path(sys.argv[sys.argv.index("--source") + 1]) if "--source" in sys.argv else REPO
sys.path.insert(0, str(SOURCE))

import orjson  # noqa: E402

from telemetry_ext.events import decode_batch  # noqa: E402
from telemetry_ext.loop import Loop  # noqa: E402
from telemetry_ext.pipeline.batcher import Batcher, Identity  # noqa: E402
from telemetry_ext.pipeline.listener import TelemetryListener  # noqa: E402
from telemetry_ext.pipeline.ring_buffer import RingBuffer  # noqa: E402


def event(number: int) -> dict[str, Any]:
    time_ = f"2026-11-23T12:00:00.{number % 1000:03d}Z"
    request = f"4b142fc3-17b8-4cdb-a46b-{number // 10:012d}"
    kind = number % 10
    if kind == 8:
        record = {"timestamp": time_, "level": "INFO", "requestId": request, "message": f"processed item {number}"}
        return {"time": time_, "type": "function", "record": record}
    if kind == 9:
        metrics = {"durationMs": 11.642, "billedDurationMs": 12, "memorySizeMB": 128, "maxMemoryUsedMB": 67}
        spans = [{"name": "extensionOverhead", "start": time_, "durationMs": 0.4}]
        report: dict[str, Any] = {"requestId": request, "status": "success", "metrics": metrics, "spans": spans}
        return {"time": time_, "type": "platform.report", "record": report}
    line = f"{time_}\t{request}\tINFO\tprocessed item {number} of the batch, all fine\n"
    return {"time": time_, "type": "function", "record": line}


def bodies(total: int, batch: int) -> list[bytes]:
    return [orjson.dumps([event(n) for n in range(start, start + batch)]) for start in range(0, total, batch)]


def new_batcher() -> Batcher:
    identity = Identity("bench", "fn", "$LATEST", "bench", "telemetry")
    return Batcher(RingBuffer(10_000_000, 1 << 30), identity, 4 << 20, 8)


def in_process(payloads: list[bytes]) -> float:
    batcher = new_batcher()
    started = time.process_time()
    for body in payloads:
        batcher.ingest(decode_batch(body), 0.0)
    return float(batcher.counters.received) / (time.process_time() - started)


CLIENT = """
import socket, sys, time
port, paths = int(sys.argv[1]), sys.argv[2:]
bodies = [open(p, 'rb').read() for p in paths]
sock = socket.create_connection(('127.0.0.1', port))
started = time.perf_counter()
for body in bodies:
    sock.sendall(b'POST / HTTP/1.1\\r\\nHost: sandbox.localdomain\\r\\nContent-Type: application/json\\r\\n'
                 b'Content-Length: %d\\r\\n\\r\\n' % len(body) + body)
    answer = b''
    while not answer.endswith(b'\\r\\n\\r\\n'):
        answer += sock.recv(4096)
print(time.perf_counter() - started)
"""


def over_http(payloads: list[bytes], folder: Path) -> float:
    """The listener on the extension's own loop (this thread, pinned to core 0), the client in a process pinned
    to core 1; the loop runs until every event is buffered."""
    batcher, loop = new_batcher(), Loop()
    listener = TelemetryListener(loop, lambda decoded: batcher.ingest(decoded, 0.0), 64 << 20)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listener.start("127.0.0.1", port)
    paths = []
    for number, body in enumerate(payloads):
        path = folder / f"body-{number}.json"
        path.write_bytes(body)
        paths.append(str(path))
    expected = sum(len(orjson.loads(body)) for body in payloads)
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(port), *paths], stdout=subprocess.PIPE,
        preexec_fn=lambda: os.sched_setaffinity(0, {1}),
    )  # fmt: skip
    loop.run_until(lambda: batcher.counters.received >= expected, deadline=time.monotonic() + 120)
    out, _ = client.communicate()
    listener.close()
    loop.close()
    return float(batcher.counters.received) / float(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "bench")
    parser.add_argument("--source", type=Path, default=REPO, help="the tree whose telemetry_ext is measured")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    payloads = bodies(args.events, args.batch)
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = args.out / "ingest-bodies"
    scratch.mkdir(exist_ok=True)
    runs: dict[str, list[float]] = {"in_process": [], "http": []}
    for _ in range(args.repeat):  # interleaved, so machine drift touches both alike
        runs["in_process"].append(in_process(payloads))
        runs["http"].append(over_http(payloads, scratch))
    for path in scratch.iterdir():
        path.unlink()
    scratch.rmdir()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=SOURCE)
    result = {
        "commit": commit.stdout.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "events": args.events,
        "batch": args.batch,
        "bytes_per_event": round(sum(map(len, payloads)) / args.events, 1),
        "events_per_s_median": {k: round(statistics.median(v)) for k, v in runs.items()},
        "runs": {k: [round(x) for x in v] for k, v in runs.items()},
    }
    name = "ingest" if SOURCE == REPO else f"ingest-{result['commit']}"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    table = (
        f"# Listener ingest rate ({result['commit']}, {result['date']})\n\n"
        f"{args.events} events in batches of {args.batch}, {result['bytes_per_event']} bytes/event, one core, "
        f"median of {args.repeat}\n\n| path | events/s |\n|---|---|\n"
        + "".join(f"| {k} | {v:,} |\n" for k, v in result["events_per_s_median"].items())
    )
    (args.out / f"{name}.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
