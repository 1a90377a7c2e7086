"""What the dynamic loader reads from an ELF file: its program interpreter, the libraries it needs, its soname.

Read from the file's own headers (64-bit little-endian: x86_64 and aarch64), so it works on any architecture's
files without running them or a tool that knows their machine.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

PT_INTERP, PT_DYNAMIC = 3, 2
DT_NULL, DT_NEEDED, DT_STRTAB, DT_SONAME = 0, 1, 5, 14
ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True, slots=True)
class DynamicInfo:
    interpreter: str | None
    """PT_INTERP: the loader the kernel starts for this program (None for libraries and static programs)."""
    needed: tuple[str, ...]
    """DT_NEEDED, in order."""
    soname: str | None


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == ELF_MAGIC


def read_dynamic(path: Path) -> DynamicInfo:
    """The file's interpreter, needed libraries and soname; ValueError if it is no 64-bit little-endian ELF."""
    data = path.read_bytes()
    if data[:4] != ELF_MAGIC or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
    phoff, phentsize, phnum = struct.unpack_from("<Q", data, 0x20)[0], *struct.unpack_from("<HH", data, 0x36)
    interpreter, dynamic = None, None
    loads: list[tuple[int, int, int]] = []  # (virtual address, file offset, file size) of each PT_LOAD
    for index in range(phnum):
        kind, _, offset, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", data, phoff + index * phentsize)
        if kind == PT_INTERP:
            interpreter = data[offset : offset + filesz].split(b"\0", 1)[0].decode()
        elif kind == PT_DYNAMIC:
            dynamic = (offset, filesz)
        elif kind == 1:
            loads.append((vaddr, offset, filesz))
    if dynamic is None:
        return DynamicInfo(interpreter, (), None)
    entries = [struct.unpack_from("<qQ", data, dynamic[0] + i) for i in range(0, dynamic[1], 16)]
    strtab = next((value for tag, value in entries if tag == DT_STRTAB), None)
    if strtab is None:
        raise ValueError(f"{path}: a dynamic section without a string table")
    strings = _file_offset(strtab, loads, path)

    def string(at: int) -> str:
        end = data.index(b"\0", strings + at)
        return data[strings + at : end].decode()

    needed = []
    soname = None
    for tag, value in entries:
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            needed.append(string(value))
        elif tag == DT_SONAME:
            soname = string(value)
    return DynamicInfo(interpreter, tuple(needed), soname)


def _file_offset(address: int, loads: list[tuple[int, int, int]], path: Path) -> int:
    for vaddr, offset, size in loads:
        if vaddr <= address < vaddr + size:
            return address - vaddr + offset
    raise ValueError(f"{path}: address {address:#x} is in no loaded segment")
