"""A ``chatkit.store.Store`` on Postgres, shared by every replica: the SQLite store's semantics.

Every row is owned by a user id; another user's thread is indistinguishable from a missing one
(``NotFoundError``). Items are ordered by a position within their thread, handed out by the
thread's own counter (``threads.last_pos``) while the statement holds the thread's row lock. So
positions in a thread follow commit order even with several replicas writing to it: a reader
never sees position n + 1 before n, and paging on positions never skips an item. A global
sequence or a timestamp would not do: a sequence number is taken before its row commits, and
clocks differ between machines. Threads are listed in creation order (an identity column).

Attachments' bytes are rows too (``attachment_blobs``, deleted with their attachment): the
replicas share no disk. An upload is gathered in memory (at most the attachment size limit) and
written in one statement when complete, so a half upload is never stored.

Each method is one statement or two, each committed when it returns.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from chatkit.store import NotFoundError
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata

from backend.context import RequestContext
from backend.store.base import (
    AttachmentRecord,
    DeskStore,
    attachment_json,
    check_limit,
    check_order,
    thread_item,
    thread_metadata_json,
    to_page,
)
from backend.store.postgres.database import PostgresDatabase

_ADD_ITEM = """
WITH slot AS (
    UPDATE threads SET last_pos = last_pos + 1
    WHERE id = $1 AND user_id = $2
    RETURNING id, user_id, last_pos
)
INSERT INTO items (thread_id, pos, id, user_id, data)
SELECT id, last_pos, $3, user_id, $4 FROM slot
ON CONFLICT (thread_id, id) DO UPDATE SET data = excluded.data
RETURNING 1
"""
"""An item saved again keeps its position (the number it took is simply not used)."""


class PostgresStore(DeskStore):
    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    # Threads

    async def load_thread(self, thread_id: str, context: RequestContext) -> ThreadMetadata:
        data = await self._db.pool.fetchval(
            "SELECT data FROM threads WHERE id = $1 AND user_id = $2", thread_id, context.user_id
        )
        if data is None:
            raise NotFoundError(f"Thread {thread_id} not found")
        return ThreadMetadata.model_validate_json(data)

    async def save_thread(self, thread: ThreadMetadata, context: RequestContext) -> None:
        saved = await self._db.pool.fetchval(
            """
            INSERT INTO threads (id, user_id, data) VALUES ($1, $2, $3)
            ON CONFLICT (id) DO UPDATE SET data = excluded.data
            WHERE threads.user_id = excluded.user_id
            RETURNING 1
            """,
            thread.id,
            context.user_id,
            thread_metadata_json(thread),
        )
        if saved is None:
            raise NotFoundError(f"Thread {thread.id} not found")

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: RequestContext
    ) -> Page[ThreadMetadata]:
        check_limit(limit)
        comparison, direction = _direction(order)
        async with self._db.pool.acquire() as connection:
            cursor = None
            if after is not None:
                cursor = await connection.fetchval(
                    "SELECT seq FROM threads WHERE id = $1 AND user_id = $2",
                    after,
                    context.user_id,
                )
                if cursor is None:
                    raise NotFoundError(f"Thread {after} not found")
            rows = await connection.fetch(
                f"""
                SELECT data FROM threads WHERE user_id = $1
                    AND ($2::bigint IS NULL OR seq {comparison} $2)
                ORDER BY seq {direction} LIMIT $3
                """,
                context.user_id,
                cursor,
                limit + 1,
            )
        return to_page([ThreadMetadata.model_validate_json(row["data"]) for row in rows], limit)

    async def delete_thread(self, thread_id: str, context: RequestContext) -> None:
        deleted = await self._db.pool.fetchval(
            "DELETE FROM threads WHERE id = $1 AND user_id = $2 RETURNING 1",
            thread_id,
            context.user_id,
        )
        if deleted is None:
            raise NotFoundError(f"Thread {thread_id} not found")

    # Items

    async def load_thread_items(
        self,
        thread_id: str,
        after: str | None,
        limit: int,
        order: str,
        context: RequestContext,
    ) -> Page[ThreadItem]:
        check_limit(limit)
        comparison, direction = _direction(order)
        async with self._db.pool.acquire() as connection:
            scope = await connection.fetchrow(
                """
                SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1 AND user_id = $2) AS thread,
                    (SELECT pos FROM items WHERE thread_id = $1 AND id = $3 AND user_id = $2)
                    AS cursor
                """,
                thread_id,
                context.user_id,
                after,
            )
            if not scope["thread"]:
                raise NotFoundError(f"Thread {thread_id} not found")
            if after is not None and scope["cursor"] is None:
                raise NotFoundError(f"Item {after} not found in thread {thread_id}")
            rows = await connection.fetch(
                f"""
                SELECT data FROM items WHERE thread_id = $1 AND user_id = $2
                    AND ($3::bigint IS NULL OR pos {comparison} $3)
                ORDER BY pos {direction} LIMIT $4
                """,
                thread_id,
                context.user_id,
                scope["cursor"],
                limit + 1,
            )
        return to_page([thread_item.validate_json(row["data"]) for row in rows], limit)

    async def add_thread_item(
        self, thread_id: str, item: ThreadItem, context: RequestContext
    ) -> None:
        added = await self._db.pool.fetchval(
            _ADD_ITEM, thread_id, context.user_id, item.id, item.model_dump_json()
        )
        if added is None:
            raise NotFoundError(f"Thread {thread_id} not found")

    async def load_item(self, thread_id: str, item_id: str, context: RequestContext) -> ThreadItem:
        data = await self._db.pool.fetchval(
            "SELECT data FROM items WHERE thread_id = $1 AND id = $2 AND user_id = $3",
            thread_id,
            item_id,
            context.user_id,
        )
        if data is None:
            raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")
        return thread_item.validate_json(data)

    async def delete_thread_item(
        self, thread_id: str, item_id: str, context: RequestContext
    ) -> None:
        deleted = await self._db.pool.fetchval(
            "DELETE FROM items WHERE thread_id = $1 AND id = $2 AND user_id = $3 RETURNING 1",
            thread_id,
            item_id,
            context.user_id,
        )
        if deleted is None:
            raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")

    async def mark_incomplete(self, thread_id: str, item_id: str, context: RequestContext) -> None:
        await self._db.pool.execute(
            "UPDATE items SET incomplete = true WHERE thread_id = $1 AND id = $2 AND user_id = $3",
            thread_id,
            item_id,
            context.user_id,
        )

    # Attachments: metadata and bytes (under keys: ``backend.store.base.attachment_keys``)

    async def save_attachment(self, attachment: Attachment, context: RequestContext) -> None:
        thread_id = attachment.thread_id
        if thread_id is not None:
            await self.load_thread(thread_id, context)
        saved = await self._db.pool.fetchval(
            """
            INSERT INTO attachments (id, user_id, thread_id, data, created_at)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (id) DO UPDATE SET thread_id = excluded.thread_id, data = excluded.data
            WHERE attachments.user_id = excluded.user_id
            RETURNING 1
            """,
            attachment.id,
            context.user_id,
            thread_id,
            attachment.model_dump_json(),
            int(time.time()),
        )
        if saved is None:
            raise NotFoundError(f"Attachment {attachment.id} not found")

    async def attachment_record(self, attachment_id: str) -> AttachmentRecord | None:
        row = await self._db.pool.fetchrow(
            "SELECT data, user_id, thread_id, size, created_at FROM attachments WHERE id = $1",
            attachment_id,
        )
        if row is None:
            return None
        return AttachmentRecord(
            attachment_json.validate_json(row["data"]),
            row["user_id"],
            row["thread_id"],
            row["size"],
            row["created_at"],
        )

    def begin_upload(self, key: str) -> BlobUpload:
        return BlobUpload(self._db, key)

    async def record_upload(
        self, attachment: Attachment, size: int, context: RequestContext
    ) -> None:
        recorded = await self._db.pool.fetchval(
            "UPDATE attachments SET data = $1, size = $2 WHERE id = $3 AND user_id = $4 "
            "RETURNING 1",
            attachment.model_dump_json(),
            size,
            attachment.id,
            context.user_id,
        )
        if recorded is None:
            raise NotFoundError(f"Attachment {attachment.id} not found")

    async def read_attachment_bytes(self, key: str) -> bytes | None:
        return await self._db.pool.fetchval("SELECT data FROM attachment_blobs WHERE key = $1", key)

    async def discard_bytes(self, keys: Iterable[str]) -> None:
        await self._db.pool.execute(
            "DELETE FROM attachment_blobs WHERE key = ANY($1::text[])", list(keys)
        )

    async def unsent_attachments(self, created_before: int) -> list[str]:
        rows = await self._db.pool.fetch(
            "SELECT id FROM attachments WHERE thread_id IS NULL AND created_at < $1",
            created_before,
        )
        return [row["id"] for row in rows]

    async def forget_attachments(self, attachment_ids: Iterable[str]) -> None:
        await self._db.pool.execute(
            "DELETE FROM attachments WHERE id = ANY($1::text[])", list(attachment_ids)
        )

    async def load_attachment(self, attachment_id: str, context: RequestContext) -> Attachment:
        data = await self._db.pool.fetchval(
            "SELECT data FROM attachments WHERE id = $1 AND user_id = $2",
            attachment_id,
            context.user_id,
        )
        if data is None:
            raise NotFoundError(f"Attachment {attachment_id} not found")
        return attachment_json.validate_json(data)

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        deleted = await self._db.pool.fetchval(
            "DELETE FROM attachments WHERE id = $1 AND user_id = $2 RETURNING 1",
            attachment_id,
            context.user_id,
        )
        if deleted is None:
            raise NotFoundError(f"Attachment {attachment_id} not found")


class BlobUpload:
    """An attachment's bytes on their way in; stored whole by ``commit``, or not at all."""

    def __init__(self, database: PostgresDatabase, key: str) -> None:
        self._db = database
        self._key = key
        self._chunks: list[bytes] = []
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self.size += len(chunk)

    async def commit(self) -> None:
        # The key is the attachment's id, or the id and a suffix (a derived copy).
        await self._db.pool.execute(
            """
            INSERT INTO attachment_blobs (key, attachment_id, data) VALUES ($1, $2, $3)
            ON CONFLICT (key) DO UPDATE SET data = excluded.data
            """,
            self._key,
            self._key.split(".", 1)[0],
            b"".join(self._chunks),
        )
        self._chunks = []

    def abort(self) -> None:
        self._chunks = []


def _direction(order: str) -> tuple[str, str]:
    """The comparison with the cursor and the direction of ``ORDER BY`` (never user text)."""
    return (">", "ASC") if check_order(order) == "asc" else ("<", "DESC")
