"""``/livez`` and ``/readyz``: what a load balancer or an orchestrator asks a replica.

``/livez``: the process answers (restart it if not). ``/readyz``: send it requests — the chat
stack is loaded, the server is not draining and its database answers. Neither needs a token or
passes the Host allowlist (``guards.PROBE_PATHS``): health checkers address a replica by its IP,
and the answers say nothing but that. While draining, every other request is refused with a
retryable 503 (``DrainGuard``), which a load balancer retries on another replica.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.drain import Drain
from backend.web.errors import error_response

LIVEZ, READYZ = "/livez", "/readyz"
PING_TIMEOUT_SECONDS = 2.0
"""A database slower than this to answer ``SELECT 1`` is as good as unreachable for a chat."""
RETRY_AFTER = {"Retry-After": "1"}

Ping = Callable[[], Awaitable[object]]
"""Checks that the store's database answers (raises if not): the store's ``ping``."""

ALIVE = {"status": "alive"}
READY = {"status": "ready"}


def alive() -> JSONResponse:
    return JSONResponse(ALIVE, headers={"Cache-Control": "no-store"})


def not_ready(code: str, message: str) -> JSONResponse:
    return error_response(503, code, message, {"Cache-Control": "no-store", **RETRY_AFTER})


def starting() -> JSONResponse:
    return not_ready("starting", "The server is still loading; it will be ready in a moment.")


def draining() -> JSONResponse:
    return not_ready(
        "draining", "This server is stopping and takes no new requests; send the request again."
    )


async def readiness(drain: Drain, ping: Ping) -> JSONResponse:
    if drain.draining:
        return draining()
    try:
        async with asyncio.timeout(PING_TIMEOUT_SECONDS):
            await ping()
    except Exception as exc:
        return not_ready(
            "database_unreachable", f"The database does not answer ({type(exc).__name__})."
        )
    return JSONResponse(READY, headers={"Cache-Control": "no-store"})


class DrainGuard:
    """While draining, a new request (other than the probes and ``/health``) gets a 503 with
    ``Retry-After``: nothing was done, so sending it again — to this server or another — is
    safe. Requests already running are not affected."""

    ALWAYS_ANSWERED = frozenset({LIVEZ, READYZ, "/health", "/metrics"})

    def __init__(self, app: ASGIApp, *, drain: Drain) -> None:
        self.app = app
        self._drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self._drain.draining
            and scope["type"] == "http"
            and scope["path"] not in self.ALWAYS_ANSWERED
        ):
            await draining()(scope, receive, send)
            return
        await self.app(scope, receive, send)
