"""What the SQLite and Postgres stores share: ids, paging's arguments and pages, the JSON of
items and attachments, and what ChatKit Desk adds to ``chatkit.store.Store`` (the incomplete
mark, attachments' bytes and housekeeping)."""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

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


MODEL_COPY = ".model"
"""Key suffix of an image's copy made for the model (``backend.attachments.images``)."""


def attachment_keys(attachment_id: str) -> tuple[str, ...]:
    """Every key an attachment's bytes may be stored under."""
    return (attachment_id, attachment_id + MODEL_COPY)


@dataclass(frozen=True)
class AttachmentRecord:
    """An attachment with what the store knows of it beyond its ChatKit metadata."""

    attachment: Attachment
    user_id: str
    thread_id: str | None
    size: int | None
    """Bytes uploaded; ``None`` until the upload is complete."""
    created_at: int


class Upload(Protocol):
    """Bytes being stored under a key: invisible until ``commit``, gone after ``abort``."""

    size: int

    def write(self, chunk: bytes) -> None: ...

    async def commit(self) -> None: ...

    def abort(self) -> None: ...


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

    # Attachments' bytes, stored under keys (``attachment_keys``), deleted with their attachment

    @abstractmethod
    async def attachment_record(self, attachment_id: str) -> AttachmentRecord | None:
        """Any user's attachment by id: for checking a signed link, which names no user."""

    @abstractmethod
    def begin_upload(self, key: str) -> Upload:
        """Somewhere to write an attachment's bytes; they count once ``record_upload`` ran."""

    @abstractmethod
    async def record_upload(
        self, attachment: Attachment, size: int, context: RequestContext
    ) -> None:
        """The upload of ``attachment`` is complete: its final metadata and its size."""

    @abstractmethod
    async def read_attachment_bytes(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, if any (the caller checked who may read them)."""

    @abstractmethod
    async def discard_bytes(self, keys: Iterable[str]) -> None:
        """Delete bytes written for an upload that was then refused."""

    @abstractmethod
    async def unsent_attachments(self, created_before: int) -> list[str]:
        """Ids of attachments never sent with a message and created before that time."""

    @abstractmethod
    async def forget_attachments(self, attachment_ids: Iterable[str]) -> None:
        """Delete these attachments, rows and bytes, whoever owns them (housekeeping)."""


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
