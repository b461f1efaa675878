"""The attachments' life: created (two-phase), uploaded and checked, read, deleted, collected.

ChatKit's two-phase upload: ``attachments.create`` answers an attachment whose
``upload_descriptor`` points at this server's upload route with a header carrying a capability
for that one attachment (so the upload works whether or not a frontend routes it through its own
``fetch``); the upload streams in, is counted and checked as it arrives, and completes the
attachment. The SDK's ``ChatKitServer`` calls ``create_attachment`` and ``delete_attachment``;
the web layer calls ``receive``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import structlog
from chatkit.store import AttachmentStore, NotFoundError
from chatkit.types import (
    Attachment,
    AttachmentCreateParams,
    AttachmentUploadDescriptor,
    FileAttachment,
    ImageAttachment,
)
from pydantic import AnyUrl

from backend.attachments import kinds, policy
from backend.attachments.images import NotAnImage, model_copy
from backend.attachments.kinds import ContentCheck, ContentMismatch
from backend.attachments.multipart import FilePart, MultipartRefused, read_file_part
from backend.attachments.policy import DECLARED_SIZE, SENT_SIZE, AttachmentRefused
from backend.attachments.previews import PreviewLinks, upload_path
from backend.context import RequestContext
from backend.settings import Settings
from backend.store.base import MODEL_COPY, AttachmentRecord, DeskStore, attachment_keys
from backend.tokens import UPLOAD, TokenAuthority

logger = structlog.get_logger("chatkit_desk.attachments")

UPLOAD_TTL_SECONDS = 900
"""How long an attachment's upload link works after ``attachments.create``."""


class DeskAttachments(AttachmentStore[RequestContext]):
    def __init__(self, store: DeskStore, tokens: TokenAuthority, previews: PreviewLinks) -> None:
        self._store = store
        self._tokens = tokens
        self._previews = previews
        self._receiving: set[str] = set()
        self._decoding = asyncio.Semaphore(1)

    # The SDK's side: attachments.create and attachments.delete

    async def create_attachment(
        self, input: AttachmentCreateParams, context: RequestContext
    ) -> Attachment:
        name, mime = policy.check_declared(
            input.name, input.size, input.mime_type, context.settings
        )
        attachment_id = self._store.generate_attachment_id(mime, context)
        token = self._tokens.issue_capability(UPLOAD, attachment_id, UPLOAD_TTL_SECONDS)
        fields: dict[str, Any] = {
            "id": attachment_id,
            "name": name,
            "mime_type": mime,
            "upload_descriptor": AttachmentUploadDescriptor(
                url=AnyUrl(context.base_url + upload_path(attachment_id)),
                method="POST",
                headers={"Authorization": f"Bearer {token}"},
            ),
            "metadata": {DECLARED_SIZE: input.size},
        }
        if kinds.is_image(mime):
            # Required by the type; it shows the image once the upload is done.
            return ImageAttachment(
                **fields, preview_url=AnyUrl(self._previews.url(context.base_url, attachment_id))
            )
        return FileAttachment(**fields)

    async def delete_attachment(self, attachment_id: str, context: RequestContext) -> None:
        """Nothing of its own to do: the store deletes the bytes with the row, which the SDK
        deletes right after this."""

    # The upload

    def may_upload(self, bearer: str | None, attachment_id: str) -> bool:
        """Whether ``bearer`` is this attachment's upload capability."""
        return bearer is not None and self._tokens.allows(bearer, UPLOAD, attachment_id)

    async def receive(
        self,
        record: AttachmentRecord,
        content_type: str,
        body: AsyncIterator[bytes],
        context: RequestContext,
    ) -> Attachment:
        """Take the upload of ``record`` (already checked to be the caller's) from ``body``."""
        attachment = record.attachment
        if record.size is not None:
            raise AttachmentRefused(
                409, "already_uploaded", f"{attachment.name} was uploaded already."
            )
        if attachment.id in self._receiving:
            raise AttachmentRefused(
                409, "upload_in_progress", f"{attachment.name} is being uploaded already."
            )
        self._receiving.add(attachment.id)
        try:
            return await self._receive(attachment, content_type, body, context)
        finally:
            self._receiving.discard(attachment.id)

    async def _receive(
        self,
        attachment: Attachment,
        content_type: str,
        body: AsyncIterator[bytes],
        context: RequestContext,
    ) -> Attachment:
        settings = context.settings
        declared = int(
            (attachment.metadata or {}).get(DECLARED_SIZE, settings.max_attachment_bytes)
        )
        limit = min(declared, settings.max_attachment_bytes)
        check = ContentCheck(attachment.mime_type)
        upload = self._store.begin_upload(attachment.id)
        part = FilePart(limit, on_data=lambda chunk: (check.feed(chunk), upload.write(chunk)))
        started = time.perf_counter()
        try:
            await read_file_part(content_type, body, part)
            if upload.size == 0:
                raise AttachmentRefused(400, "empty_file", f"{attachment.name} arrived empty.")
            mime = check.finish()
        except MultipartRefused as exc:
            upload.abort()
            raise _refusal(exc, attachment, part.received, declared, settings) from None
        except ContentMismatch as exc:
            upload.abort()
            raise AttachmentRefused(415, "file_content_mismatch", str(exc)) from None
        except BaseException:
            upload.abort()
            raise
        try:
            await upload.commit()
            finished = _finished(attachment, mime, self._previews, context)
            if kinds.is_image(mime):
                sent_bytes = await self._write_model_copy(attachment.id, mime)
            else:
                sent_bytes = upload.size
            finished.metadata = {**(finished.metadata or {}), SENT_SIZE: sent_bytes}
            await self._store.record_upload(finished, upload.size, context)
        except BaseException as exc:
            # Refused, failed, or deleted meanwhile (attachments.delete while it streamed in):
            # nothing of it stays.
            await self._store.discard_bytes(attachment_keys(attachment.id))
            if isinstance(exc, NotFoundError):
                raise AttachmentRefused(
                    404,
                    "attachment_not_found",
                    f"{attachment.name} was deleted while it was uploading.",
                ) from None
            raise
        logger.info(
            "attachment_uploaded",
            attachment_id=attachment.id,
            mime_type=mime,
            bytes=upload.size,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return finished

    async def _write_model_copy(self, attachment_id: str, mime: str) -> int:
        """The downscaled copy the model gets, and its size; an image that cannot be decoded is
        refused. One image at a time: decoding a large one takes hundreds of MB."""
        original = await self._store.read_attachment_bytes(attachment_id)
        if original is None:
            raise NotFoundError(f"Attachment {attachment_id} not found")
        try:
            async with self._decoding:
                image = await asyncio.to_thread(model_copy, original, mime)
        except NotAnImage as exc:
            raise AttachmentRefused(415, "file_content_mismatch", str(exc)) from None
        copy = self._store.begin_upload(attachment_id + MODEL_COPY)
        try:
            copy.write(image.data)
            await copy.commit()
        except BaseException:
            copy.abort()
            raise
        return len(image.data)

    # Housekeeping

    async def collect_unsent(self, max_age_seconds: float) -> int:
        """Delete attachments never sent with a message and older than ``max_age_seconds``."""
        stale = await self._store.unsent_attachments(int(time.time() - max_age_seconds))
        if stale:
            await self._store.forget_attachments(stale)
            logger.info("attachments_collected", count=len(stale))
        return len(stale)


def _refusal(
    exc: MultipartRefused, attachment: Attachment, received: int, declared: int, settings: Settings
) -> AttachmentRefused:
    if not exc.too_large:
        return AttachmentRefused(400, "invalid_upload", str(exc))
    if received > declared and declared < settings.max_attachment_bytes:
        return AttachmentRefused(
            413,
            "larger_than_declared",
            f"{attachment.name} is longer than the {declared} bytes declared when it was "
            "created; create it again with its real size.",
        )
    return policy.too_large(None, settings)


def _finished(
    attachment: Attachment, mime: str, previews: PreviewLinks, context: RequestContext
) -> Attachment:
    update: dict[str, Any] = {"upload_descriptor": None, "mime_type": mime}
    if isinstance(attachment, ImageAttachment):
        update["preview_url"] = AnyUrl(previews.url(context.base_url, attachment.id))
    return attachment.model_copy(update=update)
