"""Server-sent events: framing, headers, and a clean end when something breaks mid-stream."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from backend.web.errors import ApiError

log = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return b"data: " + data + b"\n\n"


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response that holds a stream slot for exactly as long as it runs.

    The slot is taken when the response starts, not when the route builds it, and given back
    however the response ends, so it cannot leak: a body iterator's own ``finally`` would not
    do, since an iterator the client leaves before its first chunk is never started. A slot
    that cannot be had (``ApiError``, a 429) is answered instead of the stream.
    """

    def __init__(self, chunks: AsyncIterator[bytes], slot: AbstractContextManager[None]) -> None:
        super().__init__(chunks, media_type="text/event-stream", headers=HEADERS)
        self._slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            self._slot.__enter__()
        except ApiError as refused:
            await refused.response()(scope, receive, send)
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slot.__exit__(None, None, None)


def response(
    chunks: AsyncIterator[bytes], failure_frame: bytes, slot: AbstractContextManager[None]
) -> EventStreamResponse:
    """Stream ``chunks`` in ``slot``; if they fail, end with ``failure_frame``, not a cut."""

    async def guarded() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        except Exception:
            log.exception("stream failed after it started")
            yield failure_frame

    return EventStreamResponse(guarded(), slot)
