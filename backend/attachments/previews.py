"""Short-lived links an ``<img>`` can load: an image's preview, signed for that image alone.

ChatKit.js shows ``preview_url`` as an image, so no ``Authorization`` header goes with it; the
link carries a capability instead (``TokenAuthority.issue_capability``) that expires after
``PREVIEW_TTL_SECONDS``. The link stored with a message goes stale, so every answer that carries
attachments — a thread loaded again, a page of items, the message just sent — gets fresh ones on
its way out (``refresh``), pointing at the address this request came to.
"""

from __future__ import annotations

from contextvars import ContextVar
from urllib.parse import urlsplit, urlunsplit

from chatkit.types import (
    Attachment,
    ImageAttachment,
    Page,
    Thread,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    UserMessageItem,
)
from pydantic import AnyUrl, BaseModel

from backend.tokens import PREVIEW, TokenAuthority

PREVIEW_TTL_SECONDS = 24 * 3600
"""A day: ChatKit.js does not reload a thread it shows, so its images must outlive a working
session; each link opens one image of its owner's, and only they are given it."""
current_base_url: ContextVar[str | None] = ContextVar("current_base_url", default=None)
"""This request's ``RequestContext.base_url``: links go out pointing where the client reached
the server now (a port changed since, a public URL), not where it was when they were made."""


def content_path(attachment_id: str) -> str:
    return f"/chatkit/attachments/{attachment_id}/content"


def upload_path(attachment_id: str) -> str:
    return f"/chatkit/attachments/{attachment_id}/upload"


class PreviewLinks:
    def __init__(self, tokens: TokenAuthority) -> None:
        self._tokens = tokens

    def url(self, base_url: str, attachment_id: str) -> str:
        token = self._tokens.issue_capability(PREVIEW, attachment_id, PREVIEW_TTL_SECONDS)
        return f"{base_url}{content_path(attachment_id)}?token={token}"

    def refresh(self, answer: BaseModel) -> None:
        """Give every image attachment in ``answer`` a freshly signed preview link, in place."""
        if isinstance(answer, ThreadItemAddedEvent | ThreadItemDoneEvent):
            self._refresh_item(answer.item)
        elif isinstance(answer, Thread):
            for item in answer.items.data:
                self._refresh_item(item)
        elif isinstance(answer, Page):
            for item in answer.data:
                self._refresh_item(item)
        elif isinstance(answer, ImageAttachment):
            self._refresh_attachment(answer)

    def _refresh_item(self, item: object) -> None:
        if isinstance(item, UserMessageItem):
            for attachment in item.attachments:
                self._refresh_attachment(attachment)

    def _refresh_attachment(self, attachment: Attachment) -> None:
        if not isinstance(attachment, ImageAttachment):
            return
        parts = urlsplit(str(attachment.preview_url))
        if parts.path != content_path(attachment.id):
            return  # not one of ours (an item written by another server)
        base = current_base_url.get() or urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        attachment.preview_url = AnyUrl(self.url(base, attachment.id))
