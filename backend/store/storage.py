"""Where the server keeps its state: the desktop's SQLite file, or team mode's Postgres.

``open_storage`` runs before the port is bound, so a database that cannot be used is one clear
line at start (``DatabaseUnusable``); ``open`` and ``close`` run on the server's event loop (the
app's lifespan).
"""

from __future__ import annotations

import sqlite3
from typing import Protocol

from backend.attachments.files import AttachmentFiles
from backend.settings import Settings
from backend.store.approvals import ApprovalStore, SQLiteApprovalStore
from backend.store.base import DeskStore
from backend.store.database import open_database
from backend.store.login_tokens import LoginClaims, UsedLoginTokens
from backend.store.rate_buckets import MemoryTokenBuckets, TokenBuckets
from backend.store.sqlite import SQLiteStore


class Storage(Protocol):
    store: DeskStore
    approvals: ApprovalStore
    used_logins: LoginClaims
    rate_buckets: TokenBuckets

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Return if the database answers; raise if not (``/readyz``)."""
        ...


class SQLiteStorage(Storage):
    """One SQLite connection (``backend.store.database``) and the attachments' files (by
    default beside the database); the rate limit in the process."""

    def __init__(self, db: sqlite3.Connection, files: AttachmentFiles | None = None) -> None:
        self._db = db
        self.store = SQLiteStore(db, files)
        self.approvals = SQLiteApprovalStore(db)
        self.used_logins = UsedLoginTokens(db)
        self.rate_buckets = MemoryTokenBuckets()

    async def open(self) -> None:
        """The database is open already; what a crash mid-upload or mid-delete left of the
        attachments' files goes."""
        self.store.sweep_attachment_files()

    async def close(self) -> None:
        self._db.close()

    async def ping(self) -> None:
        self._db.execute("SELECT 1").fetchone()


def open_storage(settings: Settings) -> Storage:
    """Team mode's Postgres when ``CHATKIT_DESK_DATABASE_URL`` is set, its schema brought up to
    date; else the database file in the data dir."""
    if settings.database_url is None:
        files = AttachmentFiles(settings.attachments_dir)
        return SQLiteStorage(open_database(settings.database_file), files)
    from backend.store.postgres.storage import prepare_postgres

    return prepare_postgres(settings.database_url, settings.database_pool_size)
