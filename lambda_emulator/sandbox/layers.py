"""Layers: what Lambda extracts into /opt (lambda-api.md §5.6).

Every layer (a zip or a directory) is extracted in the order given into one folder, later layers replacing
earlier files of the same path (the merge order). Lambda's limits are checked first: at most 5 layers, and at
most 250 MB (262,144,000 bytes) unzipped for all of them together; a layer that breaks one is refused with one
line naming it (`LayerError`). File modes come from the zip's external attributes, as Lambda keeps them.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

MAX_LAYERS: Final = 5
MAX_UNZIPPED_BYTES: Final = 262_144_000
"""250 MB: the function and all its layers unzipped (only the layers are counted here)."""


class LayerError(ValueError):
    """A layer Lambda would refuse, or one that cannot be read; the message names it."""


def merge_layers(layers: Sequence[Path], opt: Path) -> None:
    """Extract `layers` in order into `opt` (an existing, empty folder), as Lambda fills /opt."""
    if len(layers) > MAX_LAYERS:
        raise LayerError(f"{len(layers)} layers given; a function can use at most {MAX_LAYERS}")
    total = sum(unzipped_size(layer) for layer in layers)
    if total > MAX_UNZIPPED_BYTES:
        limit = f"{MAX_UNZIPPED_BYTES:,} bytes (250 MB)"
        raise LayerError(f"the layers unzip to {total:,} bytes; Lambda's limit is {limit}")
    for layer in layers:
        unpack_layer(layer, opt)


def unzipped_size(layer: Path) -> int:
    """Bytes the layer takes once extracted (regular files only)."""
    if layer.is_dir():
        return sum(p.lstat().st_size for p in layer.rglob("*") if p.is_file() and not p.is_symlink())
    with _open_zip(layer) as archive:
        return sum(info.file_size for info in archive.infolist() if not info.is_dir())


def unpack_layer(layer: Path, opt: Path) -> None:
    """Extract one layer zip (keeping file modes) or copy one layer directory into `opt`, over what is there."""
    if layer.is_dir():
        _copy_tree(layer, opt)
        return
    with _open_zip(layer) as archive:
        for info in archive.infolist():
            if info.filename.startswith("/") or ".." in Path(info.filename).parts:
                raise LayerError(f"layer {layer}: entry {info.filename!r} would be extracted outside /opt")
            target = opt / info.filename
            _make_room(target, info.is_dir())
            unix_mode = info.external_attr >> 16
            if stat.S_ISLNK(unix_mode):  # zipfile would write the link's target as a file's content
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(archive.read(info).decode())
                continue
            archive.extract(info, opt)
            if unix_mode & 0o7777 and not info.is_dir():
                target.chmod(unix_mode & 0o7777)


def extension_executables(opt: Path) -> list[Path]:
    """Every non-directory entry of /opt/extensions, sorted by name, as RIE starts them."""
    folder = opt / "extensions"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.is_dir())


def _open_zip(layer: Path) -> zipfile.ZipFile:
    if not layer.exists():
        raise LayerError(f"layer {layer}: no such file or directory")
    try:
        return zipfile.ZipFile(layer)
    except (zipfile.BadZipFile, OSError) as error:
        raise LayerError(f"layer {layer}: not a zip file or a directory ({error})") from None


def _copy_tree(source: Path, target: Path) -> None:
    for entry in sorted(source.iterdir()):
        destination = target / entry.name
        if entry.is_dir() and not entry.is_symlink():
            _make_room(destination, True)
            destination.mkdir(exist_ok=True)
            _copy_tree(entry, destination)
        else:
            _make_room(destination, False)
            shutil.copy2(entry, destination, follow_symlinks=False)


def _make_room(target: Path, is_dir: bool) -> None:
    """A later layer wins: remove what an earlier one put at `target` when the kinds differ (or it is a file)."""
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        if not is_dir:
            shutil.rmtree(target)
    else:
        target.unlink()
