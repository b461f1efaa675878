"""Server-sent events: framing, headers, and a clean end when something breaks mid-stream."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

log = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(payload: dict[str, Any]) -> bytes:
    return (
        b"data: "
        + json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        + b"\n\n"
    )


def response(chunks: AsyncIterator[bytes], failure_frame: bytes) -> StreamingResponse:
    """Stream ``chunks``; if they fail, end with ``failure_frame`` instead of a cut connection."""

    async def guarded() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        except Exception:
            log.exception("stream failed after it started")
            yield failure_frame

    return StreamingResponse(guarded(), media_type="text/event-stream", headers=HEADERS)
