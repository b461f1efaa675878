"""What the HTTP routes share: the store, the ChatKit server, tokens and limits."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from backend.attachments.service import DeskAttachments
from backend.chat.providers import ProviderRegistry
from backend.chat.server import DeskChatKitServer
from backend.settings import Settings
from backend.store.base import DeskStore
from backend.store.login_tokens import LoginClaims
from backend.tokens import TokenAuthority
from backend.tools.hub import ToolHub
from backend.web import guards
from backend.web.errors import ApiError
from backend.web.limits import RateLimiter, StreamSlots
from backend.web.metrics import Metrics


@dataclass
class Services:
    store: DeskStore
    attachments: DeskAttachments
    used_logins: LoginClaims
    providers: ProviderRegistry
    chatkit: DeskChatKitServer
    tools: ToolHub
    tokens: TokenAuthority
    rate_limiter: RateLimiter
    streams: StreamSlots
    metrics: Metrics


def services(request: Request) -> Services:
    return request.app.state.services


def settings_of(request: Request) -> Settings:
    """This request's settings (``settings.json`` changes apply from the next request)."""
    return guards.settings_of(request.scope)


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
