"""Team mode's Postgres: the schema brought up to date once, and a connection pool.

asyncpg is the optional extra ``chatkit-desk[team]``, imported here only and only when
``CHATKIT_DESK_DATABASE_URL`` is set, so the desktop app (whose bundle leaves it out) never needs
it. ``serve`` migrates before it binds its port, on a connection of its own (the pool belongs to
the event loop that uvicorn runs later, and is opened by the app's lifespan).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from backend.store.database import DatabaseUnusable
from backend.store.migrations import POSTGRES, latest, pending

if TYPE_CHECKING:
    import asyncpg

CONNECT_TIMEOUT_SECONDS = 10.0
MIGRATION_LOCK = 0x636B_6465_736B  # any fixed number: the key of the lock migrations take
"""Taken with ``pg_advisory_xact_lock``: held to the end of the migrating transaction, and so
also safe behind PgBouncer's transaction pooling (a session lock would not be)."""


def _asyncpg() -> ModuleType:
    try:
        import asyncpg
    except ImportError:
        raise DatabaseUnusable(
            "team mode (CHATKIT_DESK_DATABASE_URL) needs the Postgres driver, which this "
            "installation lacks: install chatkit-desk[team] (pip install 'chatkit-desk[team]'), "
            "or run the Docker image"
        ) from None
    return asyncpg


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


async def connect(url: str) -> asyncpg.Connection:
    """One connection, or ``DatabaseUnusable`` saying why there is none."""
    driver = _asyncpg()
    try:
        return await driver.connect(url, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, TimeoutError, driver.PostgresError, driver.InterfaceError) as exc:
        raise DatabaseUnusable(
            f"the database at {redacted(url)} cannot be reached ({type(exc).__name__}: {exc})"
        ) from None


async def migrate(url: str) -> int:
    """Bring the database at ``url`` to the schema this code knows; returns its version."""
    connection = await connect(url)
    try:
        return await apply_migrations(connection)
    finally:
        await connection.close()


async def apply_migrations(connection: asyncpg.Connection) -> int:
    """The missing migrations, in one transaction under the migration lock: replicas starting
    together on an empty database wait for the first and then find nothing to do. A database
    newer than this code is refused: an older replica must not write to it."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
            "purpose text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = await connection.fetchval(
            "SELECT coalesce(max(version), 0) FROM schema_migrations"
        )
        if current > latest(POSTGRES):
            raise DatabaseUnusable(
                f"the database's schema is at version {current}, newer than this ChatKit Desk "
                f"knows (up to {latest(POSTGRES)}): run the newer release on every replica"
            )
        for migration in pending(POSTGRES, current):
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, purpose) VALUES ($1, $2)",
                migration.version,
                migration.purpose,
            )
    return max(current, latest(POSTGRES))


class PostgresDatabase:
    """The pool every team-mode store shares; ``open`` and ``close`` run on the server's loop.

    Statements take a connection each and give it back at once (never across a stream's
    ``yield``), so a small pool serves many concurrent answers.
    """

    def __init__(self, url: str, pool_size: int) -> None:
        self.url = url
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        driver = _asyncpg()
        self._pool = await driver.create_pool(
            self.url, min_size=1, max_size=self._pool_size, timeout=CONNECT_TIMEOUT_SECONDS
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not open")
        return self._pool
