"""What the emulator's integration tests share: the minimal extension as a layer, what it recorded, a peer
outside the environment."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from lambda_emulator import EmulatorConfig
from lambda_emulator.state.runtimes import SimulatedRuntime

HERE = Path(__file__).parent
REPO = HERE.parents[1]
FIXTURES = HERE / "fixtures"
SAMPLE_LAYER = HERE / "layers" / "sample-telemetry-layer"
"""An extension written as AWS's published Python sample is (its launcher runs python3 /opt/<name>/...)."""
SAMPLE = "sample_telemetry_extension"
FS_PROBE = HERE / "handlers" / "fs_probe.py"


def minimal_layer(tmp_path: Path) -> Path:
    layer = tmp_path / "layer"
    (layer / "extensions").mkdir(parents=True)
    shutil.copy2(HERE / "minimal_extension.py", layer / "extensions" / "minimal")
    return layer


def zip_layer(folder: Path, archive: Path, extra: dict[str, str] | None = None) -> Path:
    """A layer zip as one is published: `folder`'s files with their modes, plus `extra` {path: text}."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(str(path.relative_to(folder)))
                info.external_attr = (path.stat().st_mode & 0xFFFF) << 16
                out.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        for name, text in (extra or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100644 << 16
            out.writestr(info, text)
    return archive


@contextlib.asynccontextmanager
async def dispatch_receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A server on the host's loopback where the sample extension dispatches what it received: (its URL, the
    batches received, in order)."""
    batches: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        batches.append(await request.json())
        return web.Response(status=200)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}/", batches
    finally:
        await server.close()


def environment(
    tmp_path: Path, behaviour: str = "normal", extra_env: dict[str, str] | None = None, **overrides: Any
) -> tuple[EmulatorConfig, Path]:
    """A config running the minimal extension (MINIMAL_MODE=`behaviour`) and the simulated runtime with cgroups and
    the environment's own namespace: these tests fail, never skip, without them. The extension writes what it
    saw to `out`, in `tmp_path`, which the environment shares with the host. `overrides` are EmulatorConfig
    settings."""
    out = tmp_path / "minimal.jsonl"
    settings: dict[str, Any] = {
        "runtime": SimulatedRuntime(),
        "layer": minimal_layer(tmp_path),
        "memory_mb": 1769,
        "env": {"MINIMAL_OUT": str(out), "MINIMAL_MODE": behaviour, **(extra_env or {})},
        "use_cgroups": True,
        "use_namespaces": True,
        "shared_paths": (tmp_path,),
    }
    settings.update(overrides)
    return EmulatorConfig(**settings), out


@dataclass
class Seen:
    """What the minimal extension recorded, in order."""

    lines: list[dict[str, Any]]

    def of(self, kind: str) -> list[Any]:
        return [line["payload"] for line in self.lines if line["kind"] == kind]

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.of("event")

    @property
    def telemetry(self) -> list[dict[str, Any]]:
        return [event for batch in self.of("telemetry") for event in batch]

    def telemetry_types(self) -> list[str]:
        return [event["type"] for event in self.telemetry]


def seen(out: Path) -> Seen:
    return Seen([orjson.loads(line) for line in out.read_bytes().splitlines()] if out.exists() else [])


def seen_pair(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(lifecycle events, telemetry events in arrival order) the minimal extension recorded."""
    recorded = seen(out)
    return recorded.events, recorded.telemetry


def fixture(name: str) -> dict[str, Any]:
    """The `record` of the one event in tests/emulator/fixtures/<name>.json."""
    (event,) = orjson.loads((FIXTURES / f"{name}.json").read_bytes())
    record: dict[str, Any] = event["record"]
    return record


def shape(value: Any) -> Any:
    """A value's structure: keys and JSON types (span lists by their names), not its contents."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(item, dict) and "name" in item for item in value):
            return [(item["name"], shape({k: v for k, v in item.items() if k != "name"})) for item in value]
        return [shape(item) for item in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


@dataclass
class Peer:
    """A TCP service outside the environment: answers "pong" to each line, counts connections and resets."""

    port: int = 0
    connections: int = 0
    resets: int = 0
    _server: asyncio.Server | None = field(default=None, repr=False)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readline():
                writer.write(b"pong")
                await writer.drain()
        except ConnectionResetError:
            self.resets += 1
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def outside_peer() -> AsyncIterator[Peer]:
    peer = Peer()
    server = await asyncio.start_server(peer._serve, "127.0.0.1", 0)
    peer.port = server.sockets[0].getsockname()[1]
    async with server:
        yield peer
