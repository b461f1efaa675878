"""What only the SQLite store has: its file's settings, and data kept across reopening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chatkit.types import ThreadMetadata, UserMessageItem

from backend.store import SQLiteStore
from backend.store.database import open_database
from backend.store.migrations import SQLITE, latest
from tests.backend.store.test_store_contract import thread, user_message
from tests.support.contexts import context_for

ALICE = context_for("alice")


async def test_wal_mode_and_the_latest_schema(tmp_path: Path) -> None:
    open_database(tmp_path / "db.sqlite3").close()
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == latest(SQLITE)


async def test_data_survives_reopening(tmp_path: Path) -> None:
    first_db = open_database(tmp_path / "db.sqlite3")
    first = SQLiteStore(first_db)
    await first.save_thread(thread("t1", title="kept"), ALICE)
    await first.add_thread_item("t1", user_message("m1", "t1"), ALICE)
    first_db.close()

    second_db = open_database(tmp_path / "db.sqlite3")
    second = SQLiteStore(second_db)
    loaded: ThreadMetadata = await second.load_thread("t1", ALICE)
    assert loaded.title == "kept"
    items = (await second.load_thread_items("t1", None, 5, "asc", ALICE)).data
    assert [i.id for i in items] == ["m1"] and isinstance(items[0], UserMessageItem)
    second_db.close()
