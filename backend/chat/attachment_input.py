"""What the model is sent of a message's attachments, per provider, within a byte budget.

- Images: the downscaled copy made at upload (``backend.attachments.images``), as an
  ``input_image`` data URL; the Agents SDK turns it into ``image_url`` for Chat Completions, the
  form Gemini documents for images.
- PDFs: OpenAI takes them as ``input_file``. Gemini's OpenAI-compatible endpoint documents no
  ``file`` part; what it does read is a base64 ``data:application/pdf`` URL in ``image_url``
  (Gemini takes PDFs natively as inline data; the compatible endpoint maps ``image_url`` data
  URLs onto that by their MIME type), so Gemini gets the PDF that way.
- Text files: as text, with their name, so the model can quote and cite them (at most
  ``MAX_TEXT_CHARS``; UTF-8, or Windows-1252 as Excel writes CSV files).

Only the newest messages carry bytes: the latest message with attachments always does, earlier
ones while the running total stays within ``Settings.attachment_history_bytes``; older
attachments are named, so the model knows they were there without paying for them every turn.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import Any

from chatkit.types import Attachment, ThreadItem, UserMessageItem

from backend.attachments import kinds
from backend.attachments.policy import DECLARED_SIZE, SENT_SIZE
from backend.store.base import MODEL_COPY, DeskStore

MAX_TEXT_CHARS = 400_000
"""A text file's characters the model is sent (about 100k tokens); the rest is cut with a note,
as no model's context would hold a 20 MB text file."""


def carried(items: Sequence[ThreadItem], budget: int) -> set[str]:
    """Ids of the attachments whose bytes go to the model this turn (``items`` oldest first):
    all of the newest user message's, then earlier messages' while they fit ``budget``."""
    chosen: set[str] = set()
    spent = 0
    newest = True
    for item in reversed(items):
        if not isinstance(item, UserMessageItem):
            continue
        size = sum(_size(attachment) for attachment in item.attachments)
        if not newest and spent + size > budget:
            break
        chosen.update(attachment.id for attachment in item.attachments)
        spent += size
        newest = False
    return chosen


def _size(attachment: Attachment) -> int:
    """What sending it costs: the bytes sent (an image's copy), else the size declared."""
    metadata = attachment.metadata or {}
    return int(metadata.get(SENT_SIZE, metadata.get(DECLARED_SIZE, 0)))


class AttachmentInput:
    """One turn's conversion of attachments to model input content."""

    def __init__(self, store: DeskStore, provider: str, carried_ids: set[str]) -> None:
        self._store = store
        self._provider = provider
        self._carried = carried_ids

    async def content(self, attachment: Attachment) -> dict[str, Any]:
        what = f"{attachment.name} ({kinds.describe(attachment.mime_type)})"
        if attachment.id not in self._carried:
            return _text(f"[Earlier attachment: {what}; not sent again.]")
        mime = attachment.mime_type
        data = None
        if kinds.is_image(mime):
            data = await self._store.read_attachment_bytes(attachment.id + MODEL_COPY)
            if data is not None:
                mime = kinds.sniff_image_or_pdf(data[: kinds.SNIFF_BYTES]) or mime
        if data is None:
            data = await self._store.read_attachment_bytes(attachment.id)
        if data is None:
            return _text(f"[Attachment {what} is no longer available.]")
        if kinds.is_text(mime):
            return _text(_text_file(attachment.name, mime, data))
        url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        if kinds.is_image(mime) or self._provider == "gemini":
            return {"type": "input_image", "image_url": url, "detail": "auto"}
        return {"type": "input_file", "file_data": url, "filename": attachment.name}


def _text_file(name: str, mime: str, data: bytes) -> str:
    """A text file for the model: named, cut at ``MAX_TEXT_CHARS``, its wrapper unbreakable
    from inside (a ``</file>`` in the file is escaped)."""
    text = kinds.decode_text(data)
    if len(text) > MAX_TEXT_CHARS:
        more = len(text) - MAX_TEXT_CHARS
        text = f"{text[:MAX_TEXT_CHARS]}\n[… {more:,} more characters not sent]"
    text = text.replace("</file>", "<\\/file>")
    return f'<file name="{html.escape(name)}" type="{mime}">\n{text}\n</file>'


def _text(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}
