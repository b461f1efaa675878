"""The token buckets behind the per-user request rate (``backend.web.limits.RateLimiter``).

In the process for the desktop app; in team mode in Postgres (``backend.store.postgres.shared``),
so that every replica draws on the same bucket.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class TokenBuckets(Protocol):
    async def take(self, user_id: str, capacity: float, refill_per_second: float) -> float | None:
        """Take a token from ``user_id``'s bucket (full at first, refilled continuously): ``None``
        when there was one, else the fraction of a token it holds (less than one)."""


class MemoryTokenBuckets(TokenBuckets):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, user_id: str, capacity: float, refill_per_second: float) -> float | None:
        now = self._clock()
        tokens, last = self._buckets.get(user_id, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * refill_per_second)
        if tokens < 1:
            return tokens
        self._buckets[user_id] = (tokens - 1, now)
        return None
