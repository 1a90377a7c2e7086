"""Lambda's runtime identifiers and architectures, and which flavour of the layer runs on which.

The identifiers are AWS's (the Lambda API's `Runtime` enum; a test checks each one against the model that
botocore ships). The native flavour carries its own C library and runs on every one of them, Amazon Linux 2
(glibc 2.26) and 2023 alike; a native zip built before it carried one (no loader in telemetry-ext/bin) needs
GLIBC 2.34, Amazon Linux 2023. The interpreted flavour needs a Python runtime of the CPython version its wheels
were built for (build/README.md). PublishLayerVersion takes at most 15 runtimes and 2 architectures.
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

NATIVE_RUNTIMES: Final = (
    "nodejs24.x",
    "nodejs22.x",
    "python3.14",
    "python3.13",
    "python3.12",
    "java25",
    "java21",
    "dotnet8",
    "ruby3.4",
    "ruby3.3",
    "provided.al2023",
    "java17",
    "java11",
    "java8.al2",
    "python3.11",
)
"""What a native layer version lists by default: 15 of the 21 runtimes it runs on, the API's limit (README,
"Which runtimes"). Every Amazon Linux 2023 runtime but nodejs20.x (deprecated 2026-04-30, function updates
blocked from 2026-09-30: no function on it can take a new layer), and the Amazon Linux 2 runtimes AWS has not
deprecated, none before 2027-06-30: java17, java11, java8.al2, python3.11. Left out: provided.al2 (deprecated
2026-07-31, updates blocked from 2027-03-03), python3.10 (deprecated 2026-10-31, updates blocked from
2027-01-15), and nodejs18.x, python3.9, ruby3.2, deprecated before them. The layer runs there too: `--runtimes`
publishes a version that lists them, and a layer attached by ARN is not checked against the list by Lambda.
Dates: AWS's Lambda runtimes pages, as collected in 2026-12."""


def default_runtimes(flavour: str, carries_libc: bool, python: str | None) -> tuple[str, ...]:
    """The runtimes a layer version of this zip lists when none are given (empty: cannot tell)."""
    if flavour == "native":
        return NATIVE_RUNTIMES if carries_libc else tuple(r for r in NATIVE_RUNTIMES if RUNTIME_OS[r] == AL2023)
    return (f"python{python}",) if python else ()


def runtime_problem(runtime: str, flavour: str, python: str | None, carries_libc: bool = True) -> str | None:
    """Why `runtime` cannot run this flavour of the layer (None: it can)."""
    system = RUNTIME_OS.get(runtime)
    if system is None:
        return f"{runtime!r} is not a Lambda runtime identifier (known: {', '.join(RUNTIME_OS)})"
    if flavour == "native" and not carries_libc and system != AL2023:
        return (f"{runtime} runs on {system}; this native zip carries no C library and needs GLIBC 2.34 "
                f"({AL2023} runtimes): rebuild it (scripts/build.sh) to serve every runtime")  # fmt: skip
    if flavour == "interpreted" and python and runtime != f"python{python}":
        return f"{runtime}: the interpreted flavour runs on the function's python{python} only (its wheels' CPython)"
    return None
