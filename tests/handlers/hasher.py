"""A handler that computes: SHA-256 over `rounds` blocks of 64 KiB, the amount varying from call to call as real
work does (4-18 ms of CPU on a full core; at 128 MB, 128/1769 of a core, about 14 times that in wall time).

The amounts come from a fixed sequence (the n-th call of a process does the same work in every session), so the
variants of a comparison do the same work, invoke for invoke. Set HASHER_ROUNDS to fix the amount instead.
"""

import hashlib
import os
from typing import Any

BLOCK = bytes(range(256)) * 256
MIN_ROUNDS, MAX_ROUNDS = 100, 499
_calls = 0


def rounds_of_call(number: int) -> int:
    """The n-th call's amount: a full-period linear congruential sequence over 100-499."""
    return MIN_ROUNDS + (number * 7919 + 1237) % (MAX_ROUNDS - MIN_ROUNDS + 1)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _calls
    rounds = int(os.environ.get("HASHER_ROUNDS") or rounds_of_call(_calls))
    _calls += 1
    digest = hashlib.sha256()
    for _ in range(rounds):
        digest.update(BLOCK)
    print(f"hashed {rounds} blocks for {context.aws_request_id}")
    return {"statusCode": 200, "body": f'{{"rounds": {rounds}, "sha256": "{digest.hexdigest()[:16]}"}}'}
