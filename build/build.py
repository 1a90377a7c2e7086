"""Build a layer zip: the native flavour (Nuitka standalone) or the interpreted one (source + wheels).

    python build/build.py --arch x86_64|arm64 [--flavor native|interpreted] [--force] [--dist DIR]

Outputs go to dist/ only: dist/telemetry-ext-<flavor>-<arch>.zip and a .json beside it (sizes, sha256, build
time, the highest GLIBC version it needs from the host, for the interpreted flavour the CPython versions with
orjson and with bytecode). One line per phase on stdout; the tools' own output in
dist/logs/build-<flavor>-<arch>.log. Caches live under ~/.cache/telemetry-ext (build venv, Nuitka's cache,
ccache, the arm64 and CPython roots) and are reused between builds on one machine. A zip newer than every
input is reused unless --force.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from build_steps import ARCHES, REPO, STARTED, BuildError, open_log, phase, require_tools
from layer_interpreted import PYTHON_VERSIONS, build_interpreted
from layer_native import build_native
from layer_zip import glibc_bound_check, write_reproducible_zip

GLIBC_BOUND = (2, 26)
"""The most a layer's files may need from the host's C library: Amazon Linux 2's glibc, the oldest that Lambda's
runtimes run on. The native layer carries its own C library and needs none; the interpreted one's orjson needs
what the function's python3 already has (build/README.md)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", required=True, help="x86_64 or arm64")
    parser.add_argument("--flavor", default="native", choices=["native", "interpreted"])
    parser.add_argument("--python-versions", default=",".join(PYTHON_VERSIONS),
                        help="interpreted flavour: CPython versions to ship orjson and bytecode for "
                        f"(default {','.join(PYTHON_VERSIONS)}, Lambda's python3 runtimes)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="rebuild even when the zip is up to date")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="output folder (default dist/)")
    args = parser.parse_args(argv)
    if args.arch not in ARCHES:
        raise BuildError(f"unknown arch {args.arch!r}: give x86_64 or arm64")
    versions = [v.strip() for v in args.python_versions.split(",") if v.strip()]
    unknown = [v for v in versions if v not in PYTHON_VERSIONS]
    if not versions or unknown:
        raise BuildError(f"--python-versions: give some of {', '.join(PYTHON_VERSIONS)} (got {args.python_versions!r})")
    args.python_versions = versions
    return args


def inputs_newest() -> float:
    paths = [*(REPO / "telemetry_ext").rglob("*.py"), *(REPO / "build").iterdir(), REPO / "layer" / "extensions"]
    return max(p.stat().st_mtime for p in paths if p.is_file() or p.is_dir())


def up_to_date(zip_path: Path, info_path: Path, args: argparse.Namespace) -> bool:
    if args.force or not zip_path.exists() or not info_path.exists() or zip_path.stat().st_mtime <= inputs_newest():
        return False
    shipped = json.loads(info_path.read_text()).get("python_versions")
    return bool(args.flavor == "native" or shipped == args.python_versions)


def build_layer(args: argparse.Namespace, name: str) -> tuple[Path, dict[str, Any]]:
    layer = args.dist / "layers" / name
    shutil.rmtree(layer, ignore_errors=True)
    (layer / "extensions").mkdir(parents=True)
    shutil.copy2(REPO / "layer" / "extensions" / "telemetry-ext", layer / "extensions" / "telemetry-ext")
    extra: dict[str, Any] = {}
    work = args.dist / "build" / f"{args.flavor}-{args.arch}"
    if args.flavor == "native":
        build_native(args.arch, layer, work)
    else:
        extra = build_interpreted(args.arch, layer, args.python_versions, work)
    return layer, extra


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name = f"telemetry-ext-{args.flavor}-{args.arch}"
    zip_path, info_path = args.dist / f"{name}.zip", args.dist / f"{name}.json"
    if up_to_date(zip_path, info_path, args):
        phase(f"{zip_path} is up to date (use --force to rebuild)")
        return 0
    log = open_log(args.dist / "logs" / f"build-{args.flavor}-{args.arch}.log")
    phase(f"building {name} (tools' output in {log.path})")
    require_tools("objdump")  # the GLIBC gate below reads every ELF file, whatever the flavour
    layer, extra = build_layer(args, name)
    phase("checking what every ELF file needs from the host's C library (GLIBC versions)")
    try:
        highest = glibc_bound_check(layer, GLIBC_BOUND)
    except RuntimeError as error:
        raise BuildError(str(error)) from None
    phase("writing the reproducible zip")
    info = write_reproducible_zip(layer, zip_path)
    info.update(flavor=args.flavor, arch=args.arch, build_seconds=round(time.monotonic() - STARTED, 1),
                host_glibc=".".join(map(str, highest)) if highest else None, **extra)  # fmt: skip
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    summary = f"{info['zip_bytes'] / 1e6:.2f} MB zip, {info['unzipped_bytes'] / 1e6:.2f} MB unzipped"
    summary += f", GLIBC from the host: {info['host_glibc'] or 'none'}"
    if "bytecode" in extra:
        summary += f", bytecode for CPython {', '.join(extra['bytecode']) or 'none'}"
    phase(f"done: {zip_path} ({summary}; details in {info_path.name})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as error:
        print(f"build: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("build: interrupted", file=sys.stderr)
        sys.exit(130)
