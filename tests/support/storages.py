"""The storages under test: the desktop's SQLite and team mode's Postgres, opened as the server
opens them (schema migrated, pool opened)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from backend.store.database import open_database
from backend.store.postgres.database import PostgresDatabase, migrate
from backend.store.postgres.storage import PostgresStorage
from backend.store.storage import SQLiteStorage, Storage


async def postgres_storage(url: str, pool_size: int = 10) -> PostgresStorage:
    """A replica's storage on the database at ``url``: migrated, its pool open."""
    await migrate(url)
    storage = PostgresStorage(PostgresDatabase(url, pool_size))
    await storage.open()
    return storage


@dataclass
class Backend:
    """A storage, and a look at what the stores keep but never read back."""

    name: str
    storage: Storage
    sqlite: sqlite3.Connection | None = None
    postgres: PostgresDatabase | None = None

    async def reopen(self, tmp_path: Path) -> Backend:
        """The same data opened anew, as by a restarted server (or another replica)."""
        return await open_backend(self.name, tmp_path, self.postgres and self.postgres.url)

    async def is_incomplete(self, thread_id: str, item_id: str) -> bool:
        sql = "SELECT incomplete FROM items WHERE thread_id = {} AND id = {}"
        if self.sqlite is not None:
            row = self.sqlite.execute(sql.format("?", "?"), (thread_id, item_id)).fetchone()
            return bool(row[0])
        assert self.postgres is not None
        return bool(await self.postgres.pool.fetchval(sql.format("$1", "$2"), thread_id, item_id))


async def open_backend(name: str, tmp_path: Path, postgres_url: str | None) -> Backend:
    if name == "sqlite":
        db = open_database(tmp_path / "db.sqlite3")
        return Backend(name, SQLiteStorage(db), sqlite=db)
    assert postgres_url is not None
    storage = await postgres_storage(postgres_url)
    return Backend(name, storage, postgres=storage.database)
