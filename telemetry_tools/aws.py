"""One place where AWS's errors become one-line ToolErrors (boto3 is imported by the callers, lazily)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telemetry_tools.errors import ToolError


def call(action: Callable[[], Any], what: str) -> Any:
    """`action()`, or a ToolError saying `what` failed and AWS's reason."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        return action()
    except NoCredentialsError:
        raise ToolError("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from None
    except ClientError as error:
        detail = error.response.get("Error", {})
        raise ToolError(f"{what}: {detail.get('Code', 'Error')}: {detail.get('Message', '')}") from None
    except BotoCoreError as error:
        raise ToolError(f"{what}: {error}") from None
