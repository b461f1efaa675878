"""``GET /api/threads/{id}/usage``: the tokens a thread has used, in all and per answer.

ChatKit has no usage event and does not send a thread's metadata to clients, so the built-in
page (and any frontend that wants it) asks here after each answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from chatkit.store import NotFoundError
from fastapi import APIRouter, Depends, Request

from backend.chat.usage import thread_usage
from backend.context import RequestContext
from backend.web.auth import current_user
from backend.web.errors import ApiError
from backend.web.services import services

router = APIRouter()


@router.get("/api/threads/{thread_id}/usage")
async def usage_of_thread(
    thread_id: str, request: Request, context: Annotated[RequestContext, Depends(current_user)]
) -> dict[str, Any]:
    try:
        thread = await services(request).store.load_thread(thread_id, context)
    except NotFoundError:
        raise ApiError(404, "thread_not_found", f"Thread {thread_id!r} was not found.") from None
    return thread_usage(thread)
