"""What the HTTP routes share: settings, store, ChatKit server, token authority."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from backend.chat.context import RequestContext
from backend.chat.providers import ProviderRegistry
from backend.chat.server import DeskChatKitServer
from backend.settings import Settings
from backend.store import SQLiteStore
from backend.web.auth import TokenAuthority
from backend.web.errors import ApiError


@dataclass
class Services:
    settings: Settings
    store: SQLiteStore
    providers: ProviderRegistry
    chatkit: DeskChatKitServer
    tokens: TokenAuthority

    def current_settings(self) -> Settings:
        return self.settings


def services(request: Request) -> Services:
    return request.app.state.services


async def current_user(request: Request) -> RequestContext:
    """The caller, from ``Authorization: Bearer <JWT>``; a 401 JSON error otherwise."""
    return services(request).tokens.verify_header(request.headers.get("authorization"))


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
