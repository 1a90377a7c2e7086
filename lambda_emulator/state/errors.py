"""API errors with the status codes and bodies of lambda-api.md (RIE wording)."""

from __future__ import annotations


class ApiError(Exception):
    """Rendered as `{"errorMessage": ..., "errorType": ...}` with `status`."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message

    def body(self) -> dict[str, str]:
        return {"errorMessage": self.message, "errorType": self.error_type}


class InitFailed(Exception):
    """Init did not complete: `status` is `error` or `timeout`, with Lambda's errorType; `message` is one line
    naming the process that failed and how (state/failures.py)."""

    def __init__(self, status: str, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message


class EmulatorError(Exception):
    """The emulator was asked for something the environment's state or mode does not allow."""
