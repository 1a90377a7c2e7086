"""Small zips shaped like the build's layers (launcher + an ELF binary or CPython module), for publish tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

ELF_MACHINE = {"x86_64": 62, "arm64": 183}


def fake_elf(arch: str) -> bytes:
    header = bytearray(b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00")
    header += ELF_MACHINE[arch].to_bytes(2, "little") + bytes(44)
    return bytes(header)


LOADERS = {"x86_64": "ld-linux-x86-64.so.2", "arm64": "ld-linux-aarch64.so.1"}


def layer(
    tmp_path: Path, arch: str = "x86_64", flavour: str = "native", python: str = "311", carries_libc: bool = True
) -> Path:
    """A small zip shaped like the build's: the launcher, and a binary (with the loader and C library it carries,
    or without, as native zips were before) or a CPython extension module."""
    path = tmp_path / f"{flavour}-{arch}{'' if carries_libc else '-no-libc'}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("extensions/telemetry-ext", "#!/bin/sh\n")
        if flavour == "native":
            archive.writestr("telemetry-ext/bin/telemetry-ext", fake_elf(arch))
            if carries_libc:
                archive.writestr(f"telemetry-ext/bin/{LOADERS[arch]}", fake_elf(arch))
                archive.writestr("telemetry-ext/bin/libc.so.6", fake_elf(arch))
        else:
            machine = "x86_64" if arch == "x86_64" else "aarch64"
            archive.writestr(
                f"telemetry-ext/python/orjson/orjson.cpython-{python}-{machine}-linux-gnu.so", fake_elf(arch)
            )
    return path
