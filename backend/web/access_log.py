"""One log line and one metric per request: id, route, status, duration, user, client address —
never a body.

Plain ASGI so that a streamed response is measured to its last byte. The client address is the
one uvicorn settled on: behind a trusted proxy (``CHATKIT_DESK_TRUSTED_PROXIES``), the one the
proxy forwarded. Probes that find the server well are counted but not logged: a load balancer
asks every few seconds.
"""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.web.metrics import Metrics, route_label
from backend.web.probes import LIVEZ, READYZ

logger = structlog.get_logger("chatkit_desk.http")
QUIET_WHEN_OK = frozenset({LIVEZ, READYZ})


class AccessLog:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = route_label(scope["path"])
        request_id = uuid.uuid4().hex[:16]
        structlog.contextvars.bind_contextvars(request_id=request_id, route=route)
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            self.metrics.requests.labels(route, str(status)).inc()
            if status == 429:
                self.metrics.rate_limited.labels(route).inc()
            if status != 200 or scope["path"] not in QUIET_WHEN_OK:
                client = scope.get("client")
                logger.info(
                    "request",
                    method=scope["method"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    client=client[0] if client else None,
                )
