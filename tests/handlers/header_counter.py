"""A HeaderCounter-like handler, as in the seed benchmark: count the request's headers, then sleep.

The sleep (ms) comes from the event's "sleep_ms", else SLEEP_MS in the environment, else 500.
"""

import os
import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = event.get("headers") or {}
    sleep_ms = int(event.get("sleep_ms", os.environ.get("SLEEP_MS", "500")))
    print(f"counting {len(headers)} headers for {context.aws_request_id}")
    time.sleep(sleep_ms / 1000)
    return {"statusCode": 200, "body": f'{{"headers": {len(headers)}}}'}
