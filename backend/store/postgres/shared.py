"""What the replicas share besides the store: used sign-in links and the request-rate buckets.

Each is one atomic statement, so concurrent requests on any replicas cannot both win, and time
is the database's clock (``now()``), never a replica's.
"""

from __future__ import annotations

from backend.store.login_tokens import LoginClaims
from backend.store.postgres.database import PostgresDatabase
from backend.store.rate_buckets import TokenBuckets

KEPT_AFTER_EXPIRY_SECONDS = 3600
"""A used link is forgotten this long after it expires, not at once: a replica whose clock is
behind the database's still takes the link for valid for that much longer."""


class PostgresUsedLoginTokens(LoginClaims):
    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def claim(self, token_id: str, expires_at: int) -> bool:
        claimed = await self._db.pool.fetchval(
            """
            WITH forgotten AS (
                DELETE FROM used_login_tokens
                WHERE expires_at < extract(epoch FROM now())::bigint - $3
            )
            INSERT INTO used_login_tokens (token_id, expires_at) VALUES ($1, $2)
            ON CONFLICT (token_id) DO NOTHING
            RETURNING 1
            """,
            token_id,
            expires_at,
            KEPT_AFTER_EXPIRY_SECONDS,
        )
        return claimed is not None


_REFILLED = "LEAST($2, b.tokens + GREATEST(0, extract(epoch FROM now() - b.at))::float8 * $3)"
"""The bucket's tokens now. ``now()`` is when the statement's transaction began, which for a
request that waited on another's row lock is before that one's time: never a negative refill."""

_TAKE = f"""
INSERT INTO rate_buckets AS b (user_id, tokens, at) VALUES ($1, $2 - 1, now())
ON CONFLICT (user_id) DO UPDATE SET tokens = {_REFILLED} - 1, at = GREATEST(b.at, now())
WHERE {_REFILLED} >= 1
RETURNING tokens
"""

_HELD = f"SELECT {_REFILLED} FROM rate_buckets AS b WHERE user_id = $1"


class PostgresTokenBuckets(TokenBuckets):
    """A bucket row per user, taken from by one upsert: the row lock orders concurrent takes."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def take(self, user_id: str, capacity: float, refill_per_second: float) -> float | None:
        pool = self._db.pool
        if await pool.fetchval(_TAKE, user_id, capacity, refill_per_second) is not None:
            return None
        # Refused (the less common way): what the bucket holds, for the client's Retry-After.
        # It may have refilled past a token since (or gone with a crash): then retry at once.
        held = await pool.fetchval(_HELD, user_id, capacity, refill_per_second)
        return min(1.0 if held is None else held, _ALMOST_ONE)


_ALMOST_ONE = 1.0 - 1e-9
