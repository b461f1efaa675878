"""The SQLite database file: one connection, its settings, and its schema brought up to date.

Opened by ``serve`` before the port is bound, so a database that cannot be used (written by a
newer ChatKit Desk, unreadable) is one clear line at start rather than a failed chat later.
No SDK imports here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from backend.store.migrations import SQLITE, latest, pending

BUSY_TIMEOUT_SECONDS = 10.0
"""How long a statement waits for another connection's write to end (every write is short)."""


class DatabaseUnusable(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


def open_database(path: Path) -> sqlite3.Connection:
    """A connection to the database at ``path``, created or upgraded to the current schema.

    Autocommit (every statement is committed when it returns), WAL, and ``synchronous=NORMAL``,
    which in WAL mode gives up durability against power loss only, never against a crash.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # The busy timeout first: switching to WAL waits for other openers of a new file too.
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        migrate(db, path)
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise DatabaseUnusable(_unusable(path, exc)) from None
        raise DatabaseUnusable(
            f"the database {path} stayed locked by another program for "
            f"{BUSY_TIMEOUT_SECONDS:g} s; close it (another ChatKit Desk?) and try again"
        ) from None
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnusable(_unusable(path, exc)) from None
    return db


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> str:
    return (
        f"the database {path} cannot be used ({exc}); restore it from a backup, or move it "
        "away to start with an empty one"
    )


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations this database lacks, one transaction each, in order.

    Each step reads the version inside its write transaction, so servers that start together
    on one file apply every migration once.
    """
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            _adopt_unversioned_column(db)
            current = schema_version(db)
            if current > latest(SQLITE):
                raise DatabaseUnusable(
                    f"the database {path} was written by a newer ChatKit Desk (schema version "
                    f"{current}; this one knows up to {latest(SQLITE)}): update ChatKit Desk, "
                    "or use another data dir"
                )
            steps = pending(SQLITE, current)
            if steps:
                # executescript would commit first: the statements are run one by one
                for statement in _statements(steps[0].sql):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={steps[0].version:d}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if not steps:
            return


def _adopt_unversioned_column(db: sqlite3.Connection) -> None:
    """Databases made by the builds before schema versions had ``items.incomplete`` at version 1
    (it was added without a bump): they are at version 2 already."""
    if schema_version(db) != 1:
        return
    columns = {row[1] for row in db.execute("PRAGMA table_info(items)")}
    if "incomplete" in columns:
        db.execute("PRAGMA user_version=2")


def _statements(script: str) -> list[str]:
    statements, pending_text = [], ""
    for line in script.splitlines(keepends=True):
        pending_text += line
        if sqlite3.complete_statement(pending_text):
            statements.append(pending_text.strip())
            pending_text = ""
    if pending_text.strip():
        statements.append(pending_text.strip())
    return statements
