"""An attachment's upload (the second phase of ``attachments.create``) and its content.

The upload takes the capability ``attachments.create`` put in its descriptor, or the owner's own
credentials (a frontend whose ``fetch`` adds its token). The content takes a signed preview link
(an ``<img>`` sends no token) or the owner's credentials. Another user's attachment is a 404
either way, the same as one that does not exist.
"""

from __future__ import annotations

from urllib.parse import quote

import structlog
from chatkit.types import Attachment
from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from backend.attachments import kinds
from backend.context import RequestContext
from backend.settings import Settings
from backend.store.base import AttachmentRecord
from backend.tokens import PREVIEW
from backend.web.auth import base_url_of, current_user, session_cookie
from backend.web.errors import ApiError
from backend.web.services import services, settings_of

router = APIRouter()
logger = structlog.get_logger("chatkit_desk.attachments")


@router.post("/chatkit/attachments/{attachment_id}/upload")
async def upload(attachment_id: str, request: Request) -> Response:
    desk = services(request)
    record = await desk.store.attachment_record(attachment_id)
    if desk.attachments.may_upload(_bearer(request), attachment_id):
        if record is None:  # deleted since it was created
            raise _not_found(attachment_id)
        context = RequestContext(record.user_id, settings_of(request), base_url_of(request))
        await desk.rate_limiter.check(record.user_id)
    else:
        context = await current_user(request)
        record = _owned(record, context, attachment_id)
    try:
        attachment = await desk.attachments.receive(
            record, request.headers.get("content-type", ""), request.stream(), context
        )
    except ClientDisconnect:
        # The user cancelled (or lost the network): nothing was kept, nobody reads an answer.
        logger.info("attachment_upload_abandoned", attachment_id=attachment_id)
        return Response(status_code=400)
    return Response(_json(attachment), media_type="application/json")


@router.get("/chatkit/attachments/{attachment_id}/content")
async def content(attachment_id: str, request: Request, token: str | None = None) -> Response:
    desk = services(request)
    record = await desk.store.attachment_record(attachment_id)
    if token is None or not desk.tokens.allows(token, PREVIEW, attachment_id):
        if token is not None and not _has_credentials(request, settings_of(request)):
            raise ApiError(
                403,
                "link_expired",
                "This attachment link has expired; reload the conversation for a fresh one.",
            )
        record = _owned(record, await current_user(request), attachment_id)
    data = await desk.store.read_attachment_bytes(attachment_id) if record else None
    if record is None or record.size is None or data is None:
        raise _not_found(attachment_id)
    attachment = record.attachment
    disposition = "inline" if kinds.is_image(attachment.mime_type) else "attachment"
    return Response(
        data,
        media_type=attachment.mime_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(attachment.name)}",
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def _owned(
    record: AttachmentRecord | None, context: RequestContext, attachment_id: str
) -> AttachmentRecord:
    if record is None or record.user_id != context.user_id:
        raise _not_found(attachment_id)
    return record


def _not_found(attachment_id: str) -> ApiError:
    return ApiError(404, "attachment_not_found", f"Attachment {attachment_id!r} was not found.")


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _has_credentials(request: Request, settings: Settings) -> bool:
    """A token, or this server's session cookie (other localhost servers' cookies come too)."""
    return "authorization" in request.headers or session_cookie(settings) in request.cookies


def _json(attachment: Attachment) -> bytes:
    """As the SDK answers an attachment: no metadata, no nulls."""
    return attachment.model_dump_json(
        by_alias=True, exclude_none=True, context={"exclude_metadata": True}
    ).encode()
