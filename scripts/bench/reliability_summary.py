"""dist/reliability/results.jsonl (one line per case run) -> dist/reliability/summary.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLUMNS = (
    "retries",
    "dropped",
    "lambda_dropped",
    "duplicates",
    "max_rss_mb",
    "max_post_runtime_ms",
    "shutdown_ms",
    "puts",
)


def main() -> int:
    results = REPO / "dist" / "reliability" / "results.jsonl"
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    lines = [
        "# Reliability: faults, floods, bad input and shutdown",
        "",
        "Each row: one case, run by `scripts/reliability.sh` against the real extension (source and native",
        "binary) in the local Lambda emulator, writing to moto (SigV4 on) through the fault proxy. Cases without",
        "figures (9 shutdown reasons, 12 misconfiguration) assert and pass or fail only; see pytest's output.",
        "",
        "| case | flavour | result | " + " | ".join(COLUMNS) + " | other |",
        "|---|---|---|" + "---|" * (len(COLUMNS) + 1),
    ]
    for row in sorted(rows, key=lambda r: (r["case"], r["flavour"])):
        known = {"case", "flavour", "result", "at", *COLUMNS}
        other = ", ".join(f"{k} {v}" for k, v in row.items() if k not in known)
        cells = " | ".join("-" if row.get(c) is None else str(row[c]) for c in COLUMNS)
        lines.append(f"| {row['case']} | {row['flavour']} | {row['result']} | {cells} | {other} |")
    target = results.with_name("summary.md")
    target.write_text("\n".join(lines) + "\n")
    print(target.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
