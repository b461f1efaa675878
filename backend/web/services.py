"""What the HTTP routes share: settings, store, ChatKit server, tokens and limits."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from backend.chat.context import RequestContext
from backend.chat.providers import ProviderRegistry
from backend.chat.server import DeskChatKitServer
from backend.settings import Settings
from backend.store import SQLiteStore
from backend.store.login_tokens import UsedLoginTokens
from backend.web.auth import TokenAuthority
from backend.web.errors import ApiError
from backend.web.limits import RateLimiter, StreamSlots


@dataclass
class Services:
    settings: Settings
    store: SQLiteStore
    used_logins: UsedLoginTokens
    providers: ProviderRegistry
    chatkit: DeskChatKitServer
    tokens: TokenAuthority
    rate_limiter: RateLimiter
    streams: StreamSlots

    def current_settings(self) -> Settings:
        return self.settings

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
        return desk.tokens.verify_session(cookie)
    return desk.tokens.verify_header(authorization)


async def current_user(request: Request) -> RequestContext:
    """Authentication (401), then the per-user request rate (429)."""
    user = authenticate(request)
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
