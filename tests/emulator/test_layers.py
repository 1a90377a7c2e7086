"""Layers as Lambda fills /opt with them: in order, later layers win, Lambda's limits; the environment's own
names (hosts file) and address; its folder removed even when its emulator was killed; its processes inside its
namespace even when the emulator runs in a chroot."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from lambda_emulator import Emulator, EmulatorConfig
from lambda_emulator.cli.main import main
from lambda_emulator.sandbox.address import claim_sandbox_address
from lambda_emulator.sandbox.isolation import hosts_file, remove_stale_roots
from lambda_emulator.sandbox.layers import MAX_UNZIPPED_BYTES, LayerError, extension_executables, merge_layers
from lambda_emulator.state.runtimes import SimulatedRuntime
from tests.emulator.harness import REPO

Capture = pytest.CaptureFixture[str]


def layer_zip(path: Path, files: dict[str, tuple[str, int]]) -> Path:
    """A zip of {name: (content, unix mode)}; a mode with S_IFLNK makes the content a symbolic link's target."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, (content, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, content)
    return path


def test_layers_merge_in_order_and_the_later_one_wins(tmp_path: Path) -> None:
    first = layer_zip(tmp_path / "a.zip", {"extensions/one": ("#!/bin/sh\n", 0o100755),
                                            "shared/config": ("first", 0o100644)})  # fmt: skip
    second = tmp_path / "b"
    (second / "extensions").mkdir(parents=True)
    (second / "extensions" / "two").write_text("#!/bin/sh\n")
    (second / "shared").mkdir()
    (second / "shared" / "config").write_text("second")
    opt = tmp_path / "opt"
    opt.mkdir()
    merge_layers([first, second], opt)
    assert [p.name for p in extension_executables(opt)] == ["one", "two"]
    assert (opt / "shared" / "config").read_text() == "second"
    assert stat.S_IMODE((opt / "extensions" / "one").stat().st_mode) == 0o755


def test_a_symbolic_link_in_a_layer_zip_stays_a_link(tmp_path: Path) -> None:
    layer = layer_zip(tmp_path / "l.zip", {"bin/tool-1.0": ("#!/bin/sh\n", 0o100755),
                                           "bin/tool": ("tool-1.0", 0o120777)})  # fmt: skip
    opt = tmp_path / "opt"
    opt.mkdir()
    merge_layers([layer], opt)
    assert (opt / "bin" / "tool").is_symlink() and (opt / "bin" / "tool").readlink() == Path("tool-1.0")


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda tmp: [layer_zip(tmp / f"{n}.zip", {}) for n in range(6)], "at most 5"),
        (lambda tmp: [tmp / "missing.zip"], "no such file"),
        (lambda tmp: [tmp / "junk.zip"], "not a zip file"),
        (lambda tmp: [layer_zip(tmp / "evil.zip", {"../outside": ("x", 0o100644)})], "outside /opt"),
        (lambda tmp: [tmp / "huge"], "262,144,000 bytes (250 MB)"),
    ],
    ids=["six layers", "missing", "not a zip", "escapes /opt", "over 250 MB"],
)
def test_a_layer_lambda_would_refuse_is_one_line_naming_it(
    tmp_path: Path, make: Callable[[Path], list[Path]], named: str
) -> None:
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    (tmp_path / "huge").mkdir()
    with (tmp_path / "huge" / "sparse.bin").open("wb") as sparse:
        sparse.truncate(MAX_UNZIPPED_BYTES + 1)  # its size counts, its blocks are never written
    opt = tmp_path / "opt"
    opt.mkdir()
    with pytest.raises(LayerError) as refused:
        merge_layers(make(tmp_path), opt)
    assert named in str(refused.value) and "\n" not in str(refused.value)
    assert list(opt.iterdir()) == []


def test_the_command_line_refuses_a_bad_layer_in_one_line(tmp_path: Path, capsys: Capture) -> None:
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert main(["run", "--layer", str(tmp_path / "junk.zip"), "--invocations", "1"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("lambda_emulator: layer ") and "not a zip file" in error


def test_the_hosts_file_names_the_sandbox_first_and_keeps_every_other_name(tmp_path: Path) -> None:
    host = tmp_path / "hosts"
    host.write_text(
        "127.0.0.1 localhost\n127.0.0.1 sandbox.localdomain legacy-name # a workaround\n::1 ip6-localhost\n"
    )
    lines = hosts_file(host, "127.9.8.7").splitlines()
    assert lines[0].split("#")[0].split() == ["127.9.8.7", "sandbox.localdomain", "sandbox"]
    assert lines[1:] == ["127.0.0.1 localhost", "127.0.0.1 legacy-name # a workaround", "::1 ip6-localhost"]


def test_two_environments_never_get_the_same_address() -> None:
    # GIVEN two claims drawing the same sequence of addresses
    one = claim_sandbox_address(random.Random(7))
    other = claim_sandbox_address(random.Random(7))
    try:
        # THEN the second skipped the address the first holds, and both are the host's loopback, not 127.0.0.x
        assert one.address != other.address
        assert all(a.startswith("127.") and not a.startswith("127.0.") for a in (one.address, other.address))
    finally:
        one.release()
        other.release()
    # and a released address can be claimed again
    again = claim_sandbox_address(random.Random(7))
    assert again.address == one.address
    again.release()


KILLED_EMULATOR = """
import asyncio, os, signal, sys
from lambda_emulator.sandbox.isolation import Wanted, open_isolation

async def main():
    isolation = await open_isolation(Wanted((), None, sys.executable, use_namespaces=True))
    print(isolation.root, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_the_folder_of_a_killed_emulators_environment_is_removed_by_the_next_one(tmp_path: Path) -> None:
    # GIVEN an emulator killed while its environment was open, and an environment of ours, open
    killed = await asyncio.create_subprocess_exec(sys.executable, "-c", KILLED_EMULATOR, cwd=REPO,
                                                  stdout=asyncio.subprocess.PIPE)  # fmt: skip
    stdout, _ = await killed.communicate()
    left = Path(stdout.decode().strip())
    assert killed.returncode == -signal.SIGKILL and existing([left]) == [left]
    # WHEN the next environment is made
    async with Emulator(EmulatorConfig(runtime=SimulatedRuntime(), use_namespaces=True)) as emulator:
        ours = emulator.isolation.root
        # THEN the dead emulator's folder is gone, and ours, whose lock is held, is never taken for a stale one
        assert existing([left, ours]) == [ours]
        assert ours not in remove_stale_roots(ours.parent) and existing([ours]) == [ours]


def existing(paths: list[Path]) -> list[Path]:
    return [path for path in paths if path.exists()]


CHROOTED_EMULATOR = """
import asyncio, subprocess, sys
from lambda_emulator.sandbox.isolation import Wanted, open_isolation

async def main():
    isolation = await open_isolation(Wanted((), None, sys.executable, use_namespaces=True))
    enter, cwd = isolation.spawn("/tmp", None)
    seen = subprocess.run(["cat", "/etc/hosts"], preexec_fn=enter, cwd=cwd, capture_output=True, text=True)
    print(seen.stdout.splitlines()[0], flush=True)
    await isolation.close()

asyncio.run(main())
"""


def test_an_emulator_in_a_chroot_starts_its_processes_in_the_chroot_and_the_namespace(tmp_path: Path) -> None:
    # GIVEN an emulator chrooted into a copy of this host's tree (a bind mount, as check-fresh's fresh root is)
    root, script = tmp_path / "root", tmp_path / "emulator.py"
    root.mkdir()
    script.write_text(CHROOTED_EMULATOR)
    chrooted = 'mount --make-rprivate / && mount --rbind / "$0" && exec chroot "$0" "$@"'
    # WHEN it starts a process of its environment
    command: list[str | Path] = ["unshare", "--mount", "sh", "-c", chrooted, root, sys.executable, script]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    # THEN the process sees the environment's hosts file (setns alone would put it at the host's real root)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("#")[0].split()[1:] == ["sandbox.localdomain", "sandbox"]
