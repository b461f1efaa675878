"""Who is calling: a bearer token or the browser's session cookie names the user, else 401.

The one place requests are authenticated: the chat routes' dependency (with the per-user rate
limit), ``/metrics`` (tokens only) and the built-in page (the session cookie only).
"""

from __future__ import annotations

import structlog
from fastapi import Request

from backend.context import RequestContext
from backend.settings import Settings
from backend.tokens import SESSION, TokenAuthority, TokenRejected
from backend.web.errors import ApiError
from backend.web.services import services, settings_of


def session_cookie(settings: Settings) -> str:
    """Cookies are shared by every port of a host: the name keeps two servers apart."""
    return f"chatkit_desk_session_{settings.port}"


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def user_from_token(authority: TokenAuthority, token: str, purpose: str | None = None) -> str:
    """The user a valid token of ``purpose`` names; a 401 ``ApiError`` saying why not."""
    try:
        return authority.subject_of(token, purpose)
    except TokenRejected as exc:
        raise _unauthorized(exc.code, exc.message) from None


def user_from_header(authority: TokenAuthority, authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(
            "token_missing",
            "This endpoint needs 'Authorization: Bearer <token>'; get one with "
            "`chatkit-desk token`.",
        )
    return user_from_token(authority, token.strip())


def authenticate(request: Request) -> RequestContext:
    """The caller, from ``Authorization: Bearer <JWT>`` or the browser's session cookie."""
    desk, settings = services(request), settings_of(request)
    authorization = request.headers.get("authorization")
    if authorization is None and (cookie := request.cookies.get(session_cookie(settings))):
        user = user_from_token(desk.tokens, cookie, SESSION)
    else:
        user = user_from_header(desk.tokens, authorization)
    base_url = str(request.base_url).rstrip("/")
    return RequestContext(user_id=user, settings=settings, base_url=base_url)


async def current_user(request: Request) -> RequestContext:
    """Route dependency: authentication (401), then the per-user request rate (429)."""
    user = authenticate(request)
    structlog.contextvars.bind_contextvars(user=user.user_id)
    await services(request).rate_limiter.check(user.user_id)
    return user


async def token_user(request: Request) -> str:
    """Route dependency for machine endpoints: a bearer token only, never the cookie."""
    return user_from_header(services(request).tokens, request.headers.get("authorization"))


def signed_in(request: Request) -> bool:
    """Whether the browser holds a valid session cookie (the built-in page's check)."""
    cookie = request.cookies.get(session_cookie(settings_of(request)))
    if not cookie:
        return False
    try:
        user_from_token(services(request).tokens, cookie, SESSION)
    except ApiError:
        return False
    return True
