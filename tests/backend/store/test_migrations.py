"""The schema has versions: a new database is built by the migrations, an older one is upgraded in
place with its data, a newer one is refused with what to do."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest
from chatkit.types import AssistantMessageContent, AssistantMessageItem, ThreadMetadata

from backend.store import SQLiteStore
from backend.store.database import DatabaseUnusable, open_database, schema_version
from backend.store.login_tokens import UsedLoginTokens
from backend.store.migrations import SQLITE, latest, pending
from tests.support.contexts import context_for

ALICE = context_for("alice")

FIRST_RELEASED_SCHEMA = """
CREATE TABLE threads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX threads_by_user ON threads (user_id, seq);
CREATE TABLE items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (thread_id, id)
);
CREATE INDEX items_by_thread ON items (thread_id, seq);
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    thread_id TEXT REFERENCES threads (id) ON DELETE CASCADE,
    data TEXT NOT NULL
);
PRAGMA user_version=1;
"""
"""What the first release wrote (9efdf4f): version 1, no ``incomplete`` column."""


def old_database(path: Path, *, with_incomplete_column: bool) -> None:
    """A database as an earlier build left it, holding one thread with one answer."""
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_RELEASED_SCHEMA)
        if with_incomplete_column:  # what the builds after f0d8cc4 wrote, still at version 1
            db.execute("ALTER TABLE items ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0")
            db.execute(
                "CREATE TABLE used_login_tokens "
                "(token_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)"
            )
        thread = ThreadMetadata(id="thr_old", created_at=datetime(2026, 11, 1), title="Kept")
        answer = AssistantMessageItem(
            id="msg_old",
            thread_id="thr_old",
            created_at=datetime(2026, 11, 1),
            content=[AssistantMessageContent(text="An earlier answer")],
        )
        db.execute(
            "INSERT INTO threads (id, user_id, data) VALUES (?, ?, ?)",
            ("thr_old", "alice", thread.model_dump_json()),
        )
        db.execute(
            "INSERT INTO items (thread_id, id, user_id, data) VALUES (?, ?, ?, ?)",
            ("thr_old", "msg_old", "alice", answer.model_dump_json()),
        )


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def test_the_migrations_are_numbered_one_by_one_from_one() -> None:
    assert [m.version for m in SQLITE] == list(range(1, len(SQLITE) + 1))
    assert [m.version for m in pending(SQLITE, 1)] == list(range(2, latest(SQLITE) + 1))
    assert pending(SQLITE, latest(SQLITE)) == ()


def test_a_new_database_is_built_by_the_migrations(tmp_path: Path) -> None:
    db = open_database(tmp_path / "new.sqlite3")
    assert schema_version(db) == latest(SQLITE)
    assert {"incomplete"} <= columns(db, "items")
    assert columns(db, "used_login_tokens") == {"token_id", "expires_at"}
    db.close()


@pytest.mark.parametrize("with_incomplete_column", [False, True], ids=["first", "unversioned"])
async def test_an_older_database_is_upgraded_in_place_with_its_data(
    tmp_path: Path, with_incomplete_column: bool
) -> None:
    path = tmp_path / "old.sqlite3"
    old_database(path, with_incomplete_column=with_incomplete_column)

    db = open_database(path)
    store = SQLiteStore(db)

    assert schema_version(db) == latest(SQLITE)
    assert (await store.load_thread("thr_old", ALICE)).title == "Kept"
    await store.mark_incomplete("thr_old", "msg_old", ALICE)  # raised on such a database before
    incomplete = db.execute("SELECT incomplete FROM items WHERE id = 'msg_old'").fetchone()[0]
    assert incomplete == 1
    assert await UsedLoginTokens(db).claim("link-1", expires_at=4_000_000_000)
    db.close()


def test_upgrading_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old_database(path, with_incomplete_column=False)
    open_database(path).close()
    db = open_database(path)
    assert schema_version(db) == latest(SQLITE)
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 1
    db.close()


def test_a_database_from_a_newer_release_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    open_database(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={latest(SQLITE) + 1}")

    with pytest.raises(DatabaseUnusable) as refused:
        open_database(path)

    message = str(refused.value)
    assert "newer ChatKit Desk" in message and str(path) in message
    assert "update ChatKit Desk" in message


def test_a_file_that_is_not_a_database_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not a database, " * 100)
    with pytest.raises(DatabaseUnusable, match="move it away"):
        open_database(path)


def test_servers_starting_together_apply_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    ready = threading.Barrier(4)
    results: list[object] = []

    def open_when_all_are_ready() -> None:
        ready.wait(timeout=60)
        try:
            db = open_database(path)
            results.append(schema_version(db))
            db.close()
        except Exception as exc:  # reported by the assertion below
            results.append(exc)

    workers = [threading.Thread(target=open_when_all_are_ready) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert results == [latest(SQLITE)] * 4
