"""HTTP authentication: a bearer token or the session cookie names the caller, else 401."""

from __future__ import annotations

from backend.chat.context import RequestContext
from backend.tokens import SESSION, TokenAuthority, TokenRejected
from backend.web.errors import ApiError


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def user_from_token(
    authority: TokenAuthority, token: str, purpose: str | None = None
) -> RequestContext:
    try:
        return RequestContext(user_id=authority.subject_of(token, purpose))
    except TokenRejected as exc:
        raise _unauthorized(exc.code, exc.message) from None


def user_from_session(authority: TokenAuthority, cookie: str) -> RequestContext:
    return user_from_token(authority, cookie, SESSION)


def user_from_header(authority: TokenAuthority, authorization: str | None) -> RequestContext:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(
            "token_missing",
            "This endpoint needs 'Authorization: Bearer <token>'; get one with "
            "`chatkit-desk token`.",
        )
    return user_from_token(authority, token.strip())
