"""``POST /chatkit``: the ChatKit protocol, answered by the openai-chatkit SDK."""

from __future__ import annotations

from typing import Annotated

from chatkit.server import NonStreamingResult, StreamingResult
from chatkit.types import is_streaming_req
from fastapi import APIRouter, Depends, Request, Response

from backend.context import RequestContext
from backend.web import chatkit_requests, sse
from backend.web.auth import current_user
from backend.web.services import json_body, services

router = APIRouter()

STREAM_FAILURE = sse.frame(
    {
        "type": "error",
        "code": "custom",
        "message": "The server hit an unexpected error; see its log for details.",
        "allow_retry": True,
    }
)


@router.post("/chatkit", response_model=None)
async def chatkit(
    request: Request,
    user: Annotated[RequestContext, Depends(current_user)],
) -> Response:
    desk = services(request)
    body = await json_body(request)
    parsed = chatkit_requests.parse(body)
    await chatkit_requests.check(parsed, desk.store, user)
    if not is_streaming_req(parsed):
        result = await desk.chatkit.process_parsed(parsed, user)
        assert isinstance(result, NonStreamingResult)
        return Response(content=result.json, media_type="application/json")
    result = await desk.chatkit.process_parsed(parsed, user)  # only wraps a generator
    assert isinstance(result, StreamingResult)
    return sse.response(
        aiter(result),
        STREAM_FAILURE,
        desk.streams.slot(user.user_id),
        user.settings.sse_keepalive_seconds,
    )
