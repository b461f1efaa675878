"""A ``chatkit.store.Store`` on one SQLite file (WAL), every row owned by a user id.

Calls run on the event loop thread: each is a few indexed statements on a local file, cheaper
than a hop to a worker thread. Every statement is committed when it returns (autocommit, see
``backend.store.database``), so anything the server has acknowledged survives the process
being killed.

Order is insertion order (an autoincrement ``seq``), which is exact even when timestamps tie.
Another user's thread is indistinguishable from a missing one: both raise ``NotFoundError``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from chatkit.store import NotFoundError
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata

from backend.attachments.files import AttachmentFiles, FileUpload
from backend.context import RequestContext
from backend.store.base import (
    AttachmentRecord,
    DeskStore,
    Order,
    attachment_json,
    attachment_keys,
    check_limit,
    check_order,
    thread_item,
    thread_metadata_json,
    to_page,
)


class SQLiteStore(DeskStore):
    """Threads, items and attachments on a connection from ``database.open_database``, and the
    attachments' bytes in ``files`` (deleted with their attachment or thread)."""

    def __init__(self, db: sqlite3.Connection, files: AttachmentFiles | None = None) -> None:
        """``files`` defaults to the ``attachments`` folder beside the database file."""
        self._db = db
        if files is None:
            database_file = db.execute("PRAGMA database_list").fetchone()[2]
            if not database_file:
                raise ValueError("an in-memory database has no folder: pass files=")
            files = AttachmentFiles(Path(database_file).parent / "attachments")
        self._files = files

    # Threads

    def _thread_seq(self, thread_id: str, context: RequestContext) -> int:
        row = self._db.execute(
            "SELECT seq FROM threads WHERE id = ? AND user_id = ?", (thread_id, context.user_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"Thread {thread_id} not found")
        return int(row[0])

    async def load_thread(self, thread_id: str, context: RequestContext) -> ThreadMetadata:
        row = self._db.execute(
            "SELECT data FROM threads WHERE id = ? AND user_id = ?", (thread_id, context.user_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"Thread {thread_id} not found")
        return ThreadMetadata.model_validate_json(row[0])

    async def save_thread(self, thread: ThreadMetadata, context: RequestContext) -> None:
        data = thread_metadata_json(thread)
        cursor = self._db.execute(
            """
            INSERT INTO threads (id, user_id, data) VALUES (?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET data = excluded.data
            WHERE threads.user_id = excluded.user_id
            """,
            (thread.id, context.user_id, data),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"Thread {thread.id} not found")

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: RequestContext
    ) -> Page[ThreadMetadata]:
        rows = self._page(
            "threads",
            "user_id = ?",
            (context.user_id,),
            after,
            limit,
            check_order(order),
            cursor_seq=lambda cursor: self._thread_seq(cursor, context),
        )
        return to_page([ThreadMetadata.model_validate_json(data) for _, data in rows], limit)

    async def delete_thread(self, thread_id: str, context: RequestContext) -> None:
        attachments = self._ids(
            "SELECT id FROM attachments WHERE thread_id = ? AND user_id = ?",
            (thread_id, context.user_id),
        )
        cursor = self._db.execute(
            "DELETE FROM threads WHERE id = ? AND user_id = ?", (thread_id, context.user_id)
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"Thread {thread_id} not found")
        # The rows went with the thread (cascade); the bytes are files. A crash right here
        # leaves files without rows, which the next start's sweep removes.
        self._delete_files(attachments)

    # Items

    def _item_seq(self, thread_id: str, item_id: str, context: RequestContext) -> int:
        row = self._db.execute(
            "SELECT seq FROM items WHERE thread_id = ? AND id = ? AND user_id = ?",
            (thread_id, item_id, context.user_id),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")
        return int(row[0])

    async def load_thread_items(
        self,
        thread_id: str,
        after: str | None,
        limit: int,
        order: str,
        context: RequestContext,
    ) -> Page[ThreadItem]:
        self._thread_seq(thread_id, context)
        rows = self._page(
            "items",
            "thread_id = ? AND user_id = ?",
            (thread_id, context.user_id),
            after,
            limit,
            check_order(order),
            cursor_seq=lambda cursor: self._item_seq(thread_id, cursor, context),
        )
        return to_page([thread_item.validate_json(data) for _, data in rows], limit)

    async def add_thread_item(
        self, thread_id: str, item: ThreadItem, context: RequestContext
    ) -> None:
        cursor = self._db.execute(
            """
            INSERT INTO items (thread_id, id, user_id, data)
            SELECT id, ?, user_id, ? FROM threads WHERE id = ? AND user_id = ?
            ON CONFLICT (thread_id, id) DO UPDATE SET data = excluded.data
            """,
            (item.id, item.model_dump_json(), thread_id, context.user_id),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"Thread {thread_id} not found")

    async def load_item(self, thread_id: str, item_id: str, context: RequestContext) -> ThreadItem:
        row = self._db.execute(
            "SELECT data FROM items WHERE thread_id = ? AND id = ? AND user_id = ?",
            (thread_id, item_id, context.user_id),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")
        return thread_item.validate_json(row[0])

    async def delete_thread_item(
        self, thread_id: str, item_id: str, context: RequestContext
    ) -> None:
        cursor = self._db.execute(
            "DELETE FROM items WHERE thread_id = ? AND id = ? AND user_id = ?",
            (thread_id, item_id, context.user_id),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")

    async def mark_incomplete(self, thread_id: str, item_id: str, context: RequestContext) -> None:
        self._db.execute(
            "UPDATE items SET incomplete = 1 WHERE thread_id = ? AND id = ? AND user_id = ?",
            (thread_id, item_id, context.user_id),
        )

    # Attachments: metadata in rows, bytes in files (``KEY`` is the id, derived copies add a
    # suffix)

    async def save_attachment(self, attachment: Attachment, context: RequestContext) -> None:
        thread_id = attachment.thread_id
        if thread_id is not None:
            self._thread_seq(thread_id, context)
        cursor = self._db.execute(
            """
            INSERT INTO attachments (id, user_id, thread_id, data, created_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET thread_id = excluded.thread_id, data = excluded.data
            WHERE attachments.user_id = excluded.user_id
            """,
            (
                attachment.id,
                context.user_id,
                thread_id,
                attachment.model_dump_json(),
                int(time.time()),
            ),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"Attachment {attachment.id} not found")

    async def attachment_record(self, attachment_id: str) -> AttachmentRecord | None:
        row = self._db.execute(
            "SELECT data, user_id, thread_id, size, created_at FROM attachments WHERE id = ?",
            (attachment_id,),
        ).fetchone()
        if row is None:
            return None
        data, user_id, thread_id, size, created_at = row
        return AttachmentRecord(
            attachment_json.validate_json(data), user_id, thread_id, size, created_at
        )

    def begin_upload(self, key: str) -> FileUpload:
        return self._files.begin(key)

    async def record_upload(
        self, attachment: Attachment, size: int, context: RequestContext
    ) -> None:
        cursor = self._db.execute(
            "UPDATE attachments SET data = ?, size = ? WHERE id = ? AND user_id = ?",
            (attachment.model_dump_json(), size, attachment.id, context.user_id),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"Attachment {attachment.id} not found")

    async def read_attachment_bytes(self, key: str) -> bytes | None:
        if self._files.path(key) is None:
            return None
        try:
            return await self._files.read(key)
        except FileNotFoundError:  # deleted meanwhile
            return None

    async def discard_bytes(self, keys: Iterable[str]) -> None:
        self._files.delete(keys)

    async def unsent_attachments(self, created_before: int) -> list[str]:
        return self._ids(
            "SELECT id FROM attachments WHERE thread_id IS NULL AND created_at < ?",
            (created_before,),
        )

    async def forget_attachments(self, attachment_ids: Iterable[str]) -> None:
        ids = list(attachment_ids)
        self._db.executemany("DELETE FROM attachments WHERE id = ?", [(id_,) for id_ in ids])
        self._delete_files(ids)

    def sweep_attachment_files(self) -> int:
        """Remove files no attachment owns (half uploads, a crash mid-delete); how many."""
        return self._files.sweep(set(self._ids("SELECT id FROM attachments", ())))

    def _ids(self, sql: str, args: tuple[object, ...]) -> list[str]:
        return [row[0] for row in self._db.execute(sql, args).fetchall()]

    def _delete_files(self, attachment_ids: Iterable[str]) -> None:
        self._files.delete(key for id_ in attachment_ids for key in attachment_keys(id_))

    async def load_attachment(self, attachment_id: str, context: RequestContext) -> Attachment:
        row = self._db.execute(
            "SELECT data FROM attachments WHERE id = ? AND user_id = ?",
            (attachment_id, context.user_id),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"Attachment {attachment_id} not found")
        return attachment_json.validate_json(row[0])

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        cursor = self._db.execute(
            "DELETE FROM attachments WHERE id = ? AND user_id = ?",
            (attachment_id, context.user_id),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"Attachment {attachment_id} not found")
        self._delete_files([attachment_id])

    # Paging

    def _page(
        self,
        table: Literal["threads", "items"],
        scope: str,
        scope_args: tuple[str, ...],
        after: str | None,
        limit: int,
        order: Order,
        cursor_seq: Callable[[str], int],
    ) -> list[tuple[int, str]]:
        """Up to ``limit + 1`` rows after the cursor (the extra row tells whether there is more)."""
        check_limit(limit)
        comparison, direction = (">", "ASC") if order == "asc" else ("<", "DESC")
        where, args = scope, scope_args
        if after is not None:
            where += f" AND seq {comparison} ?"
            args = (*args, cursor_seq(after))
        return self._db.execute(
            f"SELECT seq, data FROM {table} WHERE {where} ORDER BY seq {direction} LIMIT ?",
            (*args, limit + 1),
        ).fetchall()
