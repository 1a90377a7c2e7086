"""A Python handler with SnapStart runtime hooks (`snapshot_restore_py`, which awslambdaric ships and runs)."""

import os
from typing import Any

import snapshot_restore_py  # type: ignore[import-untyped]


def before_snapshot() -> None:
    print("before-snapshot hook ran", flush=True)


def after_restore() -> None:
    if os.environ.get("HANDLER_RESTORE_FAILS"):
        raise RuntimeError("the after-restore hook failed on purpose")
    print("after-restore hook ran", flush=True)


snapshot_restore_py.register_before_snapshot(before_snapshot)
snapshot_restore_py.register_after_restore(after_restore)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"ok": True}
