"""Per-user request rate and concurrent-stream caps: 429 with ``Retry-After``, never a queue."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from backend.store.rate_buckets import TokenBuckets
from backend.web.errors import ApiError


class RateLimiter:
    """A token bucket per user: ``per_minute`` requests a minute, in bursts of up to that many.

    The buckets are this process's (desktop) or the database's (team mode, shared by the
    replicas); the 429 and its ``Retry-After`` are the same either way.
    """

    def __init__(self, per_minute: int, buckets: TokenBuckets) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self._buckets = buckets

    async def check(self, user_id: str) -> None:
        tokens = await self._buckets.take(user_id, self.capacity, self.refill_per_second)
        if tokens is None:
            return
        wait = math.ceil((1 - tokens) / self.refill_per_second)
        raise ApiError(
            429,
            "rate_limited",
            f"Too many requests; try again in {wait} s "
            "(the limit is CHATKIT_DESK_RATE_LIMIT_PER_MINUTE).",
            headers={"Retry-After": str(wait)},
        )


class StreamSlots:
    """Caps how many streams run at once, per user and in total."""

    def __init__(self, per_user: int, total: int) -> None:
        self.per_user = per_user
        self.total = total
        self._active: dict[str, int] = {}
        self._active_total = 0

    @property
    def active(self) -> int:
        return self._active_total

    def acquire(self, user_id: str) -> None:
        if self._active.get(user_id, 0) >= self.per_user:
            raise _busy(
                f"You already have {self.per_user} answers streaming; wait for one to finish "
                "(CHATKIT_DESK_MAX_STREAMS_PER_USER)."
            )
        if self._active_total >= self.total:
            raise _busy(
                f"The server is streaming {self.total} answers already; try again shortly "
                "(CHATKIT_DESK_MAX_STREAMS)."
            )
        self._active[user_id] = self._active.get(user_id, 0) + 1
        self._active_total += 1

    @contextmanager
    def slot(self, user_id: str) -> Iterator[None]:
        """One stream of ``user_id``'s, for as long as the ``with`` block runs; 429 if none."""
        self.acquire(user_id)
        try:
            yield
        finally:
            self.release(user_id)

    def release(self, user_id: str) -> None:
        remaining = self._active.get(user_id, 1) - 1
        if remaining:
            self._active[user_id] = remaining
        else:
            self._active.pop(user_id, None)
        self._active_total -= 1


def _busy(message: str) -> ApiError:
    return ApiError(429, "too_many_streams", message, headers={"Retry-After": "1"})
