"""What the HTTP routes share: settings, store, ChatKit server, tokens and limits."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import Request

from backend.chat.context import RequestContext
from backend.chat.providers import ProviderRegistry
from backend.chat.server import DeskChatKitServer
from backend.settings import LiveSettings, Settings
from backend.store import SQLiteStore
from backend.store.login_tokens import UsedLoginTokens
from backend.tokens import TokenAuthority
from backend.web.auth import user_from_header, user_from_session
from backend.web.errors import ApiError
from backend.web.limits import RateLimiter, StreamSlots
from backend.web.metrics import Metrics


@dataclass
class Services:
    live_settings: LiveSettings
    store: SQLiteStore
    used_logins: UsedLoginTokens
    providers: ProviderRegistry
    chatkit: DeskChatKitServer
    tokens: TokenAuthority
    rate_limiter: RateLimiter
    streams: StreamSlots
    metrics: Metrics

    @property
    def settings(self) -> Settings:
        """The current settings: a change to settings.json applies to the next request."""
        return self.live_settings.current()

    @property
    def session_cookie(self) -> str:
        """Cookies are shared by every port of a host: the name keeps two servers apart."""
        return f"chatkit_desk_session_{self.settings.port}"


def services(request: Request) -> Services:
    return request.app.state.services


def authenticate(request: Request) -> RequestContext:
    """The caller, from ``Authorization: Bearer <JWT>`` or the browser's session cookie."""
    desk = services(request)
    authorization = request.headers.get("authorization")
    if authorization is None and (cookie := request.cookies.get(desk.session_cookie)):
        return user_from_session(desk.tokens, cookie)
    return user_from_header(desk.tokens, authorization)


async def current_user(request: Request) -> RequestContext:
    """Authentication (401), then the per-user request rate (429)."""
    user = authenticate(request)
    structlog.contextvars.bind_contextvars(user=user.user_id)
    services(request).rate_limiter.check(user.user_id)
    return user


async def json_body(request: Request) -> bytes:
    """The raw body of a JSON request; 415 for any other content type."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the request as JSON with 'Content-Type: application/json'.",
        )
    return await request.body()
