"""The browser side: ``/login`` trades a one-time link for a session cookie; ``/`` is the page.

The page and its files need the session cookie (HttpOnly, SameSite=Strict); without it the
browser gets a sign-in page that says how to get in. Nobody copies tokens by hand: the tray and
``chatkit-desk open`` mint the one-time link.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)

from backend.resources import web_dir
from backend.tokens import SESSION, SESSION_TTL_SECONDS, TokenRejected
from backend.web.auth import secure_cookies, session_cookie, signed_in
from backend.web.errors import ApiError
from backend.web.services import services, settings_of

router = APIRouter()

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def sign_in_page(reason: str, status: int = 401) -> HTMLResponse:
    template = (web_dir() / "signin.html").read_text(encoding="utf-8")
    return HTMLResponse(
        template.replace("{reason}", html.escape(reason)), status_code=status, headers=NO_STORE
    )


@router.get("/login", response_model=None)
async def login(request: Request, token: str = "") -> Response:
    desk = services(request)
    if not token:
        return sign_in_page("This sign-in link is incomplete.", 400)
    try:
        grant = desk.tokens.verify_login(token)
    except TokenRejected:
        return sign_in_page("This sign-in link is not valid (it may have expired).")
    if not await desk.used_logins.claim(grant.token_id, grant.expires_at):
        return sign_in_page("This sign-in link was already used.")
    session = desk.tokens.issue(grant.subject, SESSION_TTL_SECONDS, purpose=SESSION)
    response = RedirectResponse("/", status_code=303, headers=NO_STORE)
    settings = settings_of(request)
    response.set_cookie(
        session_cookie(settings),
        session,
        max_age=SESSION_TTL_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(settings, request.url.scheme),
        path="/",
    )
    return response


@router.get("/", response_model=None)
async def index(request: Request) -> Response:
    if not signed_in(request):
        return sign_in_page("You are not signed in here yet.")
    return FileResponse(web_dir() / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/config.json", response_model=None)
async def page_config(request: Request) -> Response:
    """What the built-in page needs to know: where ChatKit lives, which client to use, and what
    may be attached (so the page can refuse a file before uploading it; the server still
    checks)."""
    if not signed_in(request):
        raise ApiError(401, "not_signed_in", "Sign in first: open the chat from the tray.")
    settings = settings_of(request)
    return JSONResponse(
        {
            "api_url": "/chatkit",
            "domain_key": settings.domain_key,
            "web_client": settings.web_client,
            "provider": settings.provider,
            "model": settings.model,
            "attachments": {
                "max_bytes": settings.max_attachment_bytes,
                "max_count": settings.max_attachments_per_message,
                "types": settings.attachment_types,
            },
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/docs", response_model=None)
async def developer_docs() -> Response:
    """How to point a ChatKit.js or React frontend at this server (public: no secrets in it)."""
    return FileResponse(web_dir() / "docs.html", headers={"Cache-Control": "no-cache"})


@router.get("/static/{path:path}", response_model=None)
async def static_file(request: Request, path: str) -> Response:
    if not signed_in(request):
        raise ApiError(401, "not_signed_in", "Sign in first: open the chat from the tray.")
    root = (web_dir() / "static").resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise ApiError(404, "not_found", f"No file {path!r}.")
    return FileResponse(target, headers={"Cache-Control": "no-cache"})
