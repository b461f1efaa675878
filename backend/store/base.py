"""What the SQLite and Postgres stores share: ids, paging's arguments and pages, the JSON of
items and attachments, and the one method ChatKit Desk adds to ``chatkit.store.Store``."""

from __future__ import annotations

import uuid
from abc import abstractmethod
from typing import Literal, TypeVar

from chatkit.store import Store, StoreItemType
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata
from pydantic import TypeAdapter

from backend.context import RequestContext

Order = Literal["asc", "desc"]
_T = TypeVar("_T")

thread_item = TypeAdapter[ThreadItem](ThreadItem)
attachment_json = TypeAdapter[Attachment](Attachment)

_PREFIXES: dict[StoreItemType, str] = {
    "thread": "thr",
    "message": "msg",
    "tool_call": "tc",
    "workflow": "wf",
    "task": "tsk",
    "attachment": "atc",
    "sdk_hidden_context": "shcx",
}


class DeskStore(Store[RequestContext]):
    """A store whose every row is owned by a user: another user's is ``NotFoundError``."""

    # Ids are longer than the SDK's 8 hex digits: they are unique across all users' rows.
    def generate_thread_id(self, context: RequestContext) -> str:
        return f"thr_{uuid.uuid4().hex}"

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: RequestContext
    ) -> str:
        return f"{_PREFIXES[item_type]}_{uuid.uuid4().hex}"

    def generate_attachment_id(self, mime_type: str, context: RequestContext) -> str:
        return f"atc_{uuid.uuid4().hex}"

    async def save_item(self, thread_id: str, item: ThreadItem, context: RequestContext) -> None:
        """An upsert, like ``add_thread_item``: an item replaced before it was ever saved (a
        ``ThreadItemReplacedEvent``) is added, and an item saved again keeps its place."""
        await self.add_thread_item(thread_id, item, context)

    @abstractmethod
    async def mark_incomplete(self, thread_id: str, item_id: str, context: RequestContext) -> None:
        """Note that the provider cut this answer short (it stays, with the text it got)."""


def thread_metadata_json(thread: ThreadMetadata) -> str:
    """The SDK may hand over a full Thread with its items: only the metadata is kept."""
    return ThreadMetadata.model_validate(thread.model_dump(exclude={"items"})).model_dump_json()


def check_order(order: str) -> Order:
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
    return order  # type: ignore[return-value]


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


def to_page(rows: list[_T], limit: int) -> Page[_T]:
    """A page of ``limit`` rows from ``limit + 1`` fetched (the extra one says there is more)."""
    has_more = len(rows) > limit
    data = rows[:limit]
    after = getattr(data[-1], "id", None) if has_more and data else None
    return Page(data=data, has_more=has_more, after=after)
