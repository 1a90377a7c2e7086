"""telemetry-ext: an AWS Lambda external extension that ships Telemetry API events to S3."""

__version__ = "0.1.0"

TYPE_CHECKING = False
"""`typing.TYPE_CHECKING`, without importing typing: the extension's modules import typing's names (Final,
Protocol, Literal, ...) for the type checker only, under `if TYPE_CHECKING:`. Importing typing and creating named
tuples was ~3 ms of the native build's start-up (build/README.md). mypy treats any name TYPE_CHECKING as true."""
