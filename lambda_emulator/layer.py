"""Layers and environment variables: what a process in the execution environment is given (lambda-api.md §5)."""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

# Runtime-specific variables that extensions do not get; every key starting with "_" is dropped too.
RUNTIME_ONLY: Final = frozenset(
    {
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
        "AWS_LAMBDA_MAX_CONCURRENCY",  # LMI RIE sets it for the runtime only (getRuntimeOnlyEnvVars)
    }
)
PASSED_THROUGH: Final = ("PATH", "LANG", "HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def unpack_layer(layer: Path, opt: Path) -> None:
    """Unpack a layer zip (keeping file modes) or copy a layer directory into `opt`."""
    if layer.is_dir():
        shutil.copytree(layer, opt, symlinks=True, dirs_exist_ok=True)
        return
    with zipfile.ZipFile(layer) as archive:
        for info in archive.infolist():
            target = opt / info.filename
            archive.extract(info, opt)
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not info.is_dir():
                target.chmod(mode)


def extension_executables(opt: Path) -> list[Path]:
    """Every non-directory entry of /opt/extensions, sorted by name, as RIE starts them."""
    folder = opt / "extensions"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.is_dir())


def function_environment(
    user_env: Mapping[str, str], platform_env: Mapping[str, str], host_env: Mapping[str, str] = os.environ
) -> dict[str, str]:
    env = {k: host_env[k] for k in PASSED_THROUGH if k in host_env}
    env.update(platform_env)
    env.update(user_env)
    env.setdefault("TZ", "UTC")
    return env


def extension_environment(function_env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in function_env.items() if k not in RUNTIME_ONLY and not k.startswith("_")}
