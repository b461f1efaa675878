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
    """The session cookie's name.

    On a desktop, cookies are shared by every port of a host: the port in the name keeps two
    servers apart. Behind a public URL every replica must read the cookie any other one set,
    whatever its port; on https the ``__Host-`` prefix makes browsers keep it Secure, for this
    host only and for the whole site (no subdomain can plant one).
    """
    if settings.public_url is None:
        return f"chatkit_desk_session_{settings.port}"
    prefix = "__Host-" if secure_cookies(settings) else ""
    return f"{prefix}chatkit_desk_session"


def secure_cookies(settings: Settings, request_scheme: str = "http") -> bool:
    """Whether cookies are Secure: the public URL is https (a TLS load balancer in front), or
    this request came over https (as a trusted proxy's ``X-Forwarded-Proto`` may say)."""
    return request_scheme == "https" or (settings.public_url or "").startswith("https://")


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


def base_url_of(request: Request) -> str:
    """Where clients reach this server: the configured public URL (behind a load balancer), else
    the address this request came to."""
    return settings_of(request).public_url or str(request.base_url).rstrip("/")


def authenticate(request: Request) -> RequestContext:
    """The caller, from ``Authorization: Bearer <JWT>`` or the browser's session cookie."""
    desk, settings = services(request), settings_of(request)
    authorization = request.headers.get("authorization")
    if authorization is None and (cookie := request.cookies.get(session_cookie(settings))):
        user = user_from_token(desk.tokens, cookie, SESSION)
    else:
        user = user_from_header(desk.tokens, authorization)
    return RequestContext(user_id=user, settings=settings, base_url=base_url_of(request))


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
