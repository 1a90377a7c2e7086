"""Lambda's runtime identifiers and architectures, and which flavour of the layer runs on which.

The identifiers are AWS's (the Lambda API's `Runtime` enum; a test checks each one against the model that
botocore ships). The operating system decides the flavour: the native binary needs GLIBC 2.34 (Amazon Linux
2023); the interpreted flavour needs a Python runtime of the CPython version its wheels were built for
(build/README.md). PublishLayerVersion takes at most 15 runtimes and 2 architectures.
"""

from __future__ import annotations

from typing import Final

ARCHITECTURES: Final = ("x86_64", "arm64")
MAX_RUNTIMES: Final = 15
AL2023: Final = "Amazon Linux 2023"
AL2: Final = "Amazon Linux 2"

RUNTIME_OS: Final[dict[str, str]] = {
    "nodejs24.x": AL2023,
    "nodejs22.x": AL2023,
    "nodejs20.x": AL2023,
    "nodejs18.x": AL2,
    "python3.14": AL2023,
    "python3.13": AL2023,
    "python3.12": AL2023,
    "python3.11": AL2,
    "python3.10": AL2,
    "python3.9": AL2,
    "java25": AL2023,
    "java21": AL2023,
    "java17": AL2,
    "java11": AL2,
    "java8.al2": AL2,
    "dotnet8": AL2023,
    "ruby3.4": AL2023,
    "ruby3.3": AL2023,
    "ruby3.2": AL2,
    "provided.al2023": AL2023,
    "provided.al2": AL2,
}
"""Runtimes Lambda currently runs, and their OS (AWS Lambda Developer Guide, "Lambda runtimes")."""

NATIVE_RUNTIMES: Final = tuple(name for name, system in RUNTIME_OS.items() if system == AL2023)


def runtime_problem(runtime: str, flavour: str, python: str | None) -> str | None:
    """Why `runtime` cannot run this flavour of the layer (None: it can)."""
    system = RUNTIME_OS.get(runtime)
    if system is None:
        return f"{runtime!r} is not a Lambda runtime identifier (known: {', '.join(RUNTIME_OS)})"
    if flavour == "native" and system != AL2023:
        return f"{runtime} runs on {system}; the native flavour needs GLIBC 2.34 ({AL2023} runtimes)"
    if flavour == "interpreted" and python and runtime != f"python{python}":
        return f"{runtime}: the interpreted flavour runs on the function's python{python} only (its wheels' CPython)"
    return None
