"""Server-sent events: framing, headers, keep-alive comments, and a clean end when something
breaks mid-stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from backend.web.errors import ApiError

log = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEP_ALIVE = {"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True}
"""An SSE comment: every event-stream parser skips it (ChatKit.js's and the page's too)."""


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

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        slot: AbstractContextManager[None],
        keep_alive_seconds: float,
    ) -> None:
        super().__init__(chunks, media_type="text/event-stream", headers=HEADERS)
        self._slot = slot
        self._keep_alive_seconds = keep_alive_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            self._slot.__enter__()
        except ApiError as refused:
            await refused.response()(scope, receive, send)
            return
        try:
            async with KeptAlive(send, self._keep_alive_seconds) as kept_alive:
                await super().__call__(scope, receive, kept_alive.send)
        finally:
            self._slot.__exit__(None, None, None)


class KeptAlive:
    """``send`` for a stream, with a comment sent whenever it has been silent for ``seconds``.

    While the model thinks, nothing is sent for as long as it takes (up to the first-token
    timeout); a proxy or load balancer between the client and here would close the connection as
    idle (nginx and AWS's load balancers after 60 s). One task per stream wakes when the interval
    is up, not one per event; a lock keeps its comment from landing inside another message.
    """

    def __init__(self, send: Send, seconds: float) -> None:
        self._send = send
        self._seconds = seconds
        self._lock = asyncio.Lock()
        self._loop = asyncio.get_running_loop()
        self._last_sent = self._loop.time()
        self._streaming = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> KeptAlive:
        self._task = asyncio.create_task(self._beat())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def send(self, message: Message) -> None:
        async with self._lock:
            await self._send(message)
            self._last_sent = self._loop.time()
            if message["type"] == "http.response.start":
                self._streaming = True
            elif not message.get("more_body", False):
                self._streaming = False

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, self._last_sent + self._seconds - self._loop.time()))
            async with self._lock:
                if self._loop.time() - self._last_sent < self._seconds:
                    continue  # something was sent meanwhile
                if self._streaming:
                    try:
                        await self._send(KEEP_ALIVE)
                    except OSError:  # the client is gone: the stream ends by itself
                        return
                self._last_sent = self._loop.time()


def response(
    chunks: AsyncIterator[bytes],
    failure_frame: bytes,
    slot: AbstractContextManager[None],
    keep_alive_seconds: float,
) -> EventStreamResponse:
    """Stream ``chunks`` in ``slot``; if they fail, end with ``failure_frame``, not a cut."""

    async def guarded() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        except Exception:
            log.exception("stream failed after it started")
            yield failure_frame

    return EventStreamResponse(guarded(), slot, keep_alive_seconds)
