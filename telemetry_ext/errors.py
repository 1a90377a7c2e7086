"""The one error hierarchy of telemetry_ext.

    TelemetryExtError
    ├── ConfigError            a setting is missing or invalid; the message names the variable
    ├── LambdaApiError         the Extensions or Telemetry API refused a call or failed
    └── SinkError              writing a batch to S3 failed
        ├── RetryableSinkError throttling, 5xx, timeouts, reset connections: try again
        │   └── NotTriedError  the flush's deadline had passed before S3 was tried: nothing failed
        └── FatalSinkError     access denied, bad credentials, wrong bucket owner: retrying now will not help

Policy per phase:
- init: any error goes to /init/error with its message, then the process exits non-zero;
- invoke: errors never leave the event loop; they are counted and the data stays buffered;
- listener: always answers 200; what it cannot parse is counted;
- shutdown: drain within the deadline; an unexpected error goes to /exit/error.
"""


class TelemetryExtError(Exception):
    """Base of every error this extension raises on purpose."""


class ConfigError(TelemetryExtError):
    """A setting is missing or invalid. `setting` is the environment variable at fault."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


class LambdaApiError(TelemetryExtError):
    """The Lambda Extensions or Telemetry API answered with an error or could not be reached."""

    def __init__(self, call: str, detail: str, error_type: str = "Extension.ApiError") -> None:
        super().__init__(f"{call} failed: {detail}")
        self.error_type = error_type


class SinkError(TelemetryExtError):
    """Writing a batch to the sink failed."""


class RetryableSinkError(SinkError):
    """A failure that may pass: throttling, a server error, a timeout or a dropped connection."""


class NotTriedError(RetryableSinkError):
    """S3 was not tried: the flush's deadline had already passed (e.g. it was frozen). The batch is kept."""


class FatalSinkError(SinkError):
    """A failure that retrying will not fix now: permissions, credentials, bucket ownership."""
