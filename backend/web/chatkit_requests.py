"""Checks a ChatKit request completely before a response starts.

The SDK validates lazily: a malformed body is a bare ``ValidationError`` (a 500), and an unknown
thread in a streaming request is only found after the stream has answered 200, so the client sees
a truncated response. Everything that can be known up front is checked here and answered with a
4xx JSON error instead.
"""

from __future__ import annotations

import typing

from chatkit.store import NotFoundError
from chatkit.types import (
    AttachmentsDeleteReq,
    ChatKitReq,
    ClientToolCallItem,
    InputTranscribeReq,
    ItemsListReq,
    StructuredInputItem,
    ThreadsAddClientToolOutputReq,
    ThreadsAddStructuredInputReq,
    ThreadsCustomActionReq,
    ThreadsListReq,
    ThreadsRetryAfterItemReq,
    ThreadsSyncCustomActionReq,
    ThreadsUpdateReq,
    UserMessageInput,
    UserMessageItem,
    WidgetItem,
)
from pydantic import TypeAdapter, ValidationError

from backend.attachments.policy import size_text
from backend.chat.approvals import APPROVAL_ACTION
from backend.context import RequestContext
from backend.store.base import AttachmentRecord, DeskStore
from backend.web.errors import ApiError

MAX_PAGE_SIZE = 100
MAX_TITLE_LENGTH = 200

_adapter = TypeAdapter[ChatKitReq](ChatKitReq)
KNOWN_REQUEST_TYPES = sorted(
    typing.get_args(model.model_fields["type"].annotation)[0]
    for model in typing.get_args(typing.get_args(ChatKitReq)[0])
)

_UNSUPPORTED: dict[type, str] = {
    InputTranscribeReq: "Dictation is not supported by this server.",
    ThreadsSyncCustomActionReq: "Widget actions are not supported by this server.",
}


def parse(body: bytes) -> ChatKitReq:
    """The request, or a 400 ``ApiError`` saying exactly what is wrong with the body."""
    try:
        return _adapter.validate_json(body)
    except ValidationError as exc:
        raise _describe(exc) from None


def _describe(exc: ValidationError) -> ApiError:
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    if kind == "json_invalid":
        return ApiError(
            400, "invalid_json", f"The request body is not valid JSON ({first['msg']})."
        )
    if kind == "union_tag_invalid":
        tag = (first.get("ctx") or {}).get("tag", "?")
        return ApiError(
            400,
            "unknown_request_type",
            f"Unknown request type {tag!r}; this server handles {', '.join(KNOWN_REQUEST_TYPES)}.",
        )
    if kind == "union_tag_not_found":
        return ApiError(400, "invalid_request", "The request has no 'type' field.")
    if kind in ("model_attributes_type", "dict_type") and not first["loc"]:
        return ApiError(400, "invalid_request", "The request body must be a JSON object.")
    where = ".".join(str(part) for part in first["loc"][1:]) or "body"
    return ApiError(400, "invalid_request", f"Invalid request: {where}: {first['msg']}.")


async def check(
    request: ChatKitReq,
    store: DeskStore,
    context: RequestContext,
) -> None:
    """Raise a 4xx ``ApiError`` for anything that would otherwise fail after the response began."""
    if message := _UNSUPPORTED.get(type(request)):
        raise ApiError(400, "unsupported_request", message)

    params = request.params
    user_input = getattr(params, "input", None)
    if isinstance(user_input, UserMessageInput):
        length = sum(len(part.text) for part in user_input.content)
        max_message_chars = context.settings.max_message_chars
        if length > max_message_chars:
            raise ApiError(
                413,
                "message_too_long",
                f"The message has {length} characters; the limit is {max_message_chars} "
                "(CHATKIT_DESK_MAX_MESSAGE_CHARS).",
            )
        await check_attachments(
            user_input.attachments, getattr(params, "thread_id", None), store, context
        )
    if isinstance(request, AttachmentsDeleteReq):
        record = await _require_attachment(store, request.params.attachment_id, context)
        if record.thread_id is not None:
            raise ApiError(
                409,
                "attachment_in_use",
                f"{record.attachment.name} is part of a message; delete the conversation to "
                "delete it.",
            )
    if isinstance(request, ThreadsListReq | ItemsListReq):
        limit = request.params.limit
        if limit is not None and not 1 <= limit <= MAX_PAGE_SIZE:
            raise ApiError(400, "invalid_request", f"limit must be between 1 and {MAX_PAGE_SIZE}.")
    if isinstance(request, ThreadsUpdateReq):
        title = request.params.title.strip()
        if not title or len(title) > MAX_TITLE_LENGTH:
            raise ApiError(
                400, "invalid_request", f"A title must be 1 to {MAX_TITLE_LENGTH} characters."
            )

    thread_id = getattr(params, "thread_id", None)
    if thread_id is None:
        return
    await _require_thread(store, thread_id, context)

    if isinstance(request, ItemsListReq) and request.params.after is not None:
        await _require_item(store, thread_id, request.params.after, context)
    elif isinstance(request, ThreadsRetryAfterItemReq):
        item = await _require_item(store, thread_id, request.params.item_id, context)
        if not isinstance(item, UserMessageItem):
            raise ApiError(400, "invalid_request", "Only a user message can be retried.")
    elif isinstance(request, ThreadsAddStructuredInputReq):
        item = await _require_item(store, thread_id, request.params.item_id, context)
        if not isinstance(item, StructuredInputItem) or item.status != "pending":
            raise ApiError(400, "invalid_request", "That item is not a question awaiting input.")
    elif isinstance(request, ThreadsCustomActionReq):
        _check_action(request)
        if request.params.item_id is None:
            raise ApiError(
                400, "invalid_request", "An approval names the card it answers (item_id)."
            )
        item = await _require_item(store, thread_id, request.params.item_id, context)
        if not isinstance(item, WidgetItem):
            raise ApiError(400, "invalid_request", "That item is not a card with actions.")
    elif isinstance(request, ThreadsAddClientToolOutputReq):
        latest = await store.load_thread_items(thread_id, None, 1, "desc", context)
        if not any(
            isinstance(item, ClientToolCallItem) and item.status == "pending"
            for item in latest.data
        ):
            raise ApiError(
                400, "invalid_request", "No client tool call is waiting for output in this thread."
            )


async def check_attachments(
    attachment_ids: list[str], thread_id: str | None, store: DeskStore, context: RequestContext
) -> None:
    """A message's attachments: the caller's, uploaded, not sent in another thread, few enough."""
    limit = context.settings.max_attachments_per_message
    if len(attachment_ids) > limit:
        raise ApiError(
            413,
            "too_many_attachments",
            f"A message can carry {limit} files; this one has {len(attachment_ids)} "
            "(CHATKIT_DESK_MAX_ATTACHMENTS_PER_MESSAGE).",
        )
    if len(set(attachment_ids)) != len(attachment_ids):
        raise ApiError(400, "invalid_request", "The same attachment is listed twice.")
    total = 0
    for attachment_id in attachment_ids:
        record = await _require_attachment(store, attachment_id, context)
        name = record.attachment.name
        if record.size is None:
            raise ApiError(
                409,
                "attachment_not_uploaded",
                f"{name} has not been uploaded yet; upload it (its upload_descriptor), then send.",
            )
        if record.thread_id is not None and record.thread_id != thread_id:
            raise ApiError(
                409,
                "attachment_already_sent",
                f"{name} was sent in another conversation; attach the file again.",
            )
        total += record.size
    most = context.settings.max_message_attachment_bytes
    if total > most:
        raise ApiError(
            413,
            "attachments_too_large",
            f"The files of this message are {size_text(total)} together; the limit is "
            f"{size_text(most)} (CHATKIT_DESK_MAX_MESSAGE_ATTACHMENT_BYTES). Send some of them "
            "in another message.",
        )


async def _require_attachment(
    store: DeskStore, attachment_id: str, context: RequestContext
) -> AttachmentRecord:
    record = await store.attachment_record(attachment_id)
    if record is None or record.user_id != context.user_id:
        raise ApiError(
            404,
            "attachment_not_found",
            f"Attachment {attachment_id!r} was not found (deleted, or never created here).",
        )
    return record


def _check_action(request: ThreadsCustomActionReq) -> None:
    action = request.params.action
    payload = action.payload if isinstance(action.payload, dict) else {}
    if action.type != APPROVAL_ACTION:
        raise ApiError(
            400,
            "unknown_action",
            f"Unknown action {action.type!r}; this server handles {APPROVAL_ACTION!r}.",
        )
    if payload.get("decision") not in ("allow", "deny") or not payload.get("approval_id"):
        raise ApiError(
            400,
            "invalid_request",
            "An approval needs payload.approval_id and payload.decision 'allow' or 'deny'.",
        )


async def _require_thread(store: DeskStore, thread_id: str, context: RequestContext) -> None:
    try:
        await store.load_thread(thread_id, context)
    except NotFoundError:
        raise ApiError(404, "thread_not_found", f"Thread {thread_id!r} was not found.") from None


async def _require_item(
    store: DeskStore, thread_id: str, item_id: str, context: RequestContext
) -> object:
    try:
        return await store.load_item(thread_id, item_id, context)
    except NotFoundError:
        raise ApiError(
            404, "item_not_found", f"Item {item_id!r} was not found in this thread."
        ) from None
