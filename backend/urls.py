"""Where a browser or the tray on this machine reaches the server (no server imports here)."""

from __future__ import annotations

from backend.settings import Settings

WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


def base_url(settings: Settings) -> str:
    """Where a browser on this machine reaches the server."""
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


def sign_in_url(settings: Settings, login_token: str) -> str:
    return f"{base_url(settings)}/login?token={login_token}"
