"""Host names and origins: which ones address this server, and where a browser reaches it.

One vocabulary for the server's bind warning, the request guard (DNS rebinding, CORS) and the
URLs the tray and ``chatkit-desk open`` hand to a browser. No server imports here.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from backend.settings import Settings

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]", ""})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
"""The loopback names a request may be addressed to, as a ``Host`` header carries them."""


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address bound to ``host``."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_of(host_header: str) -> str:
    """The host name in a ``Host`` header: ``localhost:8765`` → ``localhost``, ``[::1]:8765`` →
    ``[::1]``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else ""
    return host.rsplit(":", 1)[0] if ":" in host else host


def _as_in_host_header(host: str) -> str:
    """``fd00::1`` → ``[fd00::1]``: an IPv6 address is bracketed in a ``Host`` header."""
    host = host.lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """What a request's ``Host`` may name: loopback, the bound host, configured names, and the
    public URL's host."""
    public = {host_of(urlsplit(settings.public_url).netloc)} if settings.public_url else set()
    return LOOPBACK_HOSTS | {_as_in_host_header(settings.host), *settings.allowed_hosts, *public}


def own_origins(settings: Settings) -> frozenset[str]:
    """The origins of the server's own page: under each loopback name, and where ``base_url``
    sends a browser (the bound host, when it is a specific one)."""
    loopback = {f"http://{name}:{settings.port}" for name in LOOPBACK_HOSTS}
    public = {settings.public_url} if settings.public_url else set()
    return frozenset({*loopback, base_url(settings).lower(), *public})


def allowed_origins(settings: Settings) -> frozenset[str]:
    """The browser origins that may call the server: its own page and configured frontends."""
    return own_origins(settings) | {origin.lower() for origin in settings.allowed_origins}


def base_url(settings: Settings) -> str:
    """Where a browser on this machine reaches the server."""
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    return f"http://{_as_in_host_header(host)}:{settings.port}"


def sign_in_url(settings: Settings, login_token: str) -> str:
    """A one-time sign-in link: through the public URL when there is one (team mode, where the
    replica's own address is no use to a browser)."""
    return f"{settings.public_url or base_url(settings)}/login?token={login_token}"
