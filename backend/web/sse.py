"""Server-sent events: framing, headers, and a clean end when something breaks mid-stream."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return b"data: " + data + b"\n\n"


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response that runs ``on_close`` however the response ends.

    (A body iterator's own ``finally`` is not enough: if the client leaves before the first
    chunk, the iterator is never started and so never finished.)
    """

    def __init__(self, chunks: AsyncIterator[bytes], on_close: Callable[[], None]) -> None:
        super().__init__(chunks, media_type="text/event-stream", headers=HEADERS)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


def response(
    chunks: AsyncIterator[bytes], failure_frame: bytes, on_close: Callable[[], None]
) -> EventStreamResponse:
    """Stream ``chunks``; if they fail, end with ``failure_frame`` instead of a cut connection."""

    async def guarded() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        except Exception:
            log.exception("stream failed after it started")
            yield failure_frame

    return EventStreamResponse(guarded(), on_close)
