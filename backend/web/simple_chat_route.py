"""``POST /api/chat``: the simple protocol, for clients that do not speak ChatKit.

In: ``{"type": "conversation.item.create", "conversation_id"?: ..., "item": {user message}}``.
Out (SSE): ``response.delta`` frames, ``conversation.item.created`` with the assistant's item,
then ``response.done`` naming the conversation; a failure is a ``response.error`` frame, a
notice (a tool server is unavailable) ``response.notice``, and a tool call that waits for the
user's approval ``response.approval_required`` (deciding needs a ChatKit UI). The conversation is
a ChatKit thread: the same one ``/chatkit`` lists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from chatkit.types import (
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ErrorEvent,
    InferenceOptions,
    NoticeEvent,
    StreamingReq,
    ThreadAddUserMessageParams,
    ThreadCreatedEvent,
    ThreadCreateParams,
    ThreadItemDoneEvent,
    ThreadItemReplacedEvent,
    ThreadItemUpdatedEvent,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    UserMessageInput,
    UserMessageTextContent,
    WidgetItem,
)
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.context import RequestContext
from backend.web import chatkit_requests, sse
from backend.web.auth import current_user
from backend.web.errors import ApiError
from backend.web.services import json_body, services

router = APIRouter()


class InputText(BaseModel):
    type: Literal["input_text"] = "input_text"
    text: str = Field(min_length=1)


class UserMessage(BaseModel):
    type: Literal["message"] = "message"
    role: Literal["user"]
    content: list[InputText] = Field(min_length=1)
    attachments: list[str] = Field(default_factory=list)
    """Ids of uploaded attachments (``attachments.create`` on ``/chatkit``, then the upload)."""


class ConversationItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["conversation.item.create"]
    conversation_id: str | None = None
    item: UserMessage


def _parse(body: bytes) -> ConversationItemCreate:
    try:
        return ConversationItemCreate.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
        if first["loc"] == ("type",) and first["type"] == "literal_error":
            raise ApiError(
                400,
                "unknown_request_type",
                "Unknown request type; this endpoint takes 'conversation.item.create'.",
            ) from None
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiError(
            400, "invalid_request", f"Invalid request: {where}: {first['msg']}."
        ) from None


def _to_chatkit(event: ConversationItemCreate) -> StreamingReq:
    message = UserMessageInput(
        content=[UserMessageTextContent(text=part.text) for part in event.item.content],
        attachments=event.item.attachments,
        inference_options=InferenceOptions(),
    )
    if event.conversation_id is None:
        return ThreadsCreateReq(params=ThreadCreateParams(input=message))
    return ThreadsAddUserMessageReq(
        params=ThreadAddUserMessageParams(thread_id=event.conversation_id, input=message)
    )


@router.post("/api/chat")
async def simple_chat(
    request: Request,
    user: Annotated[RequestContext, Depends(current_user)],
) -> StreamingResponse:
    desk = services(request)
    chatkit_request = _to_chatkit(_parse(await json_body(request)))
    await chatkit_requests.check(chatkit_request, desk.store, user)
    events = desk.chatkit.stream_events(chatkit_request, user)
    conversation_id = getattr(chatkit_request.params, "thread_id", None)

    async def frames() -> AsyncIterator[bytes]:
        nonlocal conversation_id
        async for event in events:
            if isinstance(event, ThreadItemUpdatedEvent):
                if isinstance(event.update, AssistantMessageContentPartTextDelta):
                    yield sse.frame(
                        {
                            "type": "response.delta",
                            "data": {"content": event.update.delta, "done": False},
                        }
                    )
            elif isinstance(event, ThreadCreatedEvent):
                conversation_id = event.thread.id
            elif isinstance(event, ThreadItemDoneEvent | ThreadItemReplacedEvent) and isinstance(
                event.item, AssistantMessageItem
            ):
                yield sse.frame(
                    {"type": "conversation.item.created", "item": _simple_item(event.item)}
                )
            elif isinstance(event, NoticeEvent):
                yield sse.frame({"type": "response.notice", "data": {"message": event.message}})
            elif isinstance(event, ThreadItemDoneEvent) and isinstance(event.item, WidgetItem):
                yield sse.frame(
                    {
                        "type": "response.approval_required",
                        "data": {
                            "conversation_id": conversation_id,
                            "item_id": event.item.id,
                            "message": (
                                f"{event.item.copy_text} — open this conversation in a ChatKit "
                                "UI (the built-in page shows it) to allow or deny the call."
                            ),
                        },
                    }
                )
            elif isinstance(event, ErrorEvent):
                yield sse.frame(
                    {
                        "type": "response.error",
                        "data": {
                            "code": str(getattr(event.code, "value", event.code)),
                            "message": event.message or "The answer could not be generated.",
                            "allow_retry": event.allow_retry,
                            "conversation_id": conversation_id,
                        },
                    }
                )
        yield sse.frame({"type": "response.done", "data": {"conversation_id": conversation_id}})

    failure = sse.frame(
        {
            "type": "response.error",
            "data": {"code": "internal_error", "message": "The server hit an unexpected error."},
        }
    )
    return sse.response(frames(), failure, desk.streams.slot(user.user_id))


def _simple_item(item: AssistantMessageItem) -> dict[str, object]:
    return {
        "id": item.id,
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": part.text} for part in item.content],
    }
