"""The checks every request passes before any route runs, in this order:

1. Host allowlist — loopback names and the configured host(s) only, so a DNS-rebinding page
   (evil.example resolving to 127.0.0.1) gets 421 and can never read an answer.
2. Origin allowlist — no Origin (curl, scripts) is fine; this server's own origin and the
   configured frontend origins get CORS answers; any other Origin, ``null`` included, gets 403.
3. Body size — 413 past the limit, whether or not a Content-Length was sent. An attachment's
   upload has the attachment size limit instead (its route counts the file itself, exactly).

Authentication (401) and the per-user rate limit (429) follow in the routes' dependency. This is
plain ASGI rather than ``BaseHTTPMiddleware`` so streamed responses pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import hosts
from backend.settings import Settings
from backend.web.errors import error_response

CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE = "600"
UPLOAD_OVERHEAD_BYTES = 1024 * 1024
"""Room on top of the file for an upload's multipart framing and for the server's read-ahead
(uvicorn hands the app what it has buffered, up to a few 64 KiB reads at once): the upload
route counts the file itself exactly, this is only the backstop."""


class BodyTooLarge(Exception):
    pass


def settings_of(scope: Scope) -> Settings:
    """The settings this request is answered with: read once, by the guard, as it arrived."""
    return scope["state"]["settings"]


class RequestGuard:
    def __init__(self, app: ASGIApp, *, settings: Callable[[], Settings]) -> None:
        self.app = app
        self._settings = settings
        self._allowlists_for: Settings | None = None

    def _snapshot(self, scope: Scope) -> Settings:
        """Take this request's settings; recompute the allowlists when they have changed (the
        settings window may add an origin while the server runs)."""
        current = self._settings()
        scope.setdefault("state", {})["settings"] = current
        if current is not self._allowlists_for:
            self._allowlists_for = current
            self.allowed_hosts = hosts.allowed_hosts(current)
            self.allowed_origins = hosts.allowed_origins(current)
        return current

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self._snapshot(scope)
        max_body_bytes = settings.max_body_bytes
        if is_upload(scope["path"]):
            max_body_bytes = settings.max_attachment_bytes + UPLOAD_OVERHEAD_BYTES
        headers = dict(scope["headers"])

        host = hosts.host_of(headers.get(b"host", b"").decode("latin-1"))
        if host not in self.allowed_hosts:
            await error_response(
                421,
                "host_not_allowed",
                "This server only answers requests addressed to localhost; add the host name to "
                "CHATKIT_DESK_ALLOWED_HOSTS if it is really yours.",
            )(scope, receive, send)
            return

        origin = headers.get(b"origin")
        if origin is not None:
            origin_text = origin.decode("latin-1").lower().rstrip("/")
            if origin_text not in self.allowed_origins:
                await error_response(
                    403,
                    "origin_not_allowed",
                    f"Requests from {origin_text} are not allowed; add it to "
                    "CHATKIT_DESK_ALLOWED_ORIGINS (or the allowed origins in Settings).",
                )(scope, receive, send)
                return
            if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
                await self._preflight(send, origin)
                return
            send = self._with_cors(send, origin)

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            await _too_large(max_body_bytes)(scope, receive, send)
            return
        await self._call_with_body_limit(scope, receive, send, max_body_bytes)

    async def _call_with_body_limit(
        self, scope: Scope, receive: Receive, send: Send, max_body_bytes: int
    ) -> None:
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(max_body_bytes)(scope, receive, send)

    @staticmethod
    async def _preflight(send: Send, origin: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", origin),
                    (b"access-control-allow-methods", CORS_METHODS.encode()),
                    (b"access-control-allow-headers", CORS_HEADERS.encode()),
                    (b"access-control-max-age", CORS_MAX_AGE.encode()),
                    (b"vary", b"Origin"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    def _with_cors(send: Send, origin: bytes) -> Send:
        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        return send_with_cors


def is_upload(path: str) -> bool:
    """Whether ``path`` is an attachment's upload (``/chatkit/attachments/ID/upload``)."""
    return path.startswith("/chatkit/attachments/") and path.endswith("/upload")


def _too_large(max_body_bytes: int) -> JSONResponse:
    return error_response(
        413,
        "body_too_large",
        f"The request body is larger than {max_body_bytes} bytes (CHATKIT_DESK_MAX_BODY_BYTES, "
        "or for an attachment's upload CHATKIT_DESK_MAX_ATTACHMENT_BYTES).",
    )
