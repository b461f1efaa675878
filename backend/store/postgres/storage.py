"""Team mode's storage: the store, approvals, used sign-in links and rate buckets on one pool."""

from __future__ import annotations

import asyncio

from backend.store.postgres.approvals import PostgresApprovalStore
from backend.store.postgres.database import PostgresDatabase, migrate
from backend.store.postgres.shared import PostgresTokenBuckets, PostgresUsedLoginTokens
from backend.store.postgres.store import PostgresStore
from backend.store.storage import Storage


class PostgresStorage(Storage):
    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database
        self.store = PostgresStore(database)
        self.approvals = PostgresApprovalStore(database)
        self.used_logins = PostgresUsedLoginTokens(database)
        self.rate_buckets = PostgresTokenBuckets(database)

    async def open(self) -> None:
        await self.database.open()

    async def close(self) -> None:
        await self.database.close()

    async def ping(self) -> None:
        await self.database.pool.fetchval("SELECT 1")


def prepare_postgres(url: str, pool_size: int) -> PostgresStorage:
    """The database reached and migrated (or ``DatabaseUnusable``), before any loop runs."""
    asyncio.run(migrate(url))
    return PostgresStorage(PostgresDatabase(url, pool_size))
