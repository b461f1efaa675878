"""Run the HTTP server: bind the port ourselves (a busy port is one clear line), then uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
from typing import Any

import uvicorn

from backend import logs, secrets
from backend.settings import LiveSettings
from backend.supervision import WATCH_PARENT_ENV, stop_when_parent_exits
from backend.tokens import TokenAuthority
from backend.urls import base_url
from backend.web.deferred_app import DeferredApp

log = logging.getLogger("chatkit_desk")

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class PortInUse(Exception):
    pass


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; ``PortInUse`` (with the fix) if it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if sys.platform != "win32":  # on Windows SO_REUSEADDR would let two servers share a port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise PortInUse(
                f"port {port} on {host} is already in use (another ChatKit Desk?) — stop that "
                f"program, or pick another port: --port N or CHATKIT_DESK_PORT=N"
            ) from None
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _load_app(live_settings: LiveSettings, tokens: TokenAuthority, keys: secrets.KeyCache) -> Any:
    from backend.web.app import create_app  # the SDKs: imported while /health already answers

    return create_app(live_settings, tokens, keys)


def run(live_settings: LiveSettings) -> None:
    """Serve until interrupted. Raises ``PortInUse`` before anything starts listening."""
    settings = live_settings.current()
    tokens = TokenAuthority.from_configured(settings.jwt_secret, allow_ephemeral=True)
    keys = secrets.KeyCache(settings.data_dir)
    logs.known_secrets([tokens.secret, *(keys.lookup(p).value for p in secrets.PROVIDERS)])
    sock = bind(settings.host, settings.port)
    app = DeferredApp(lambda: _load_app(live_settings, tokens, keys), live_settings.current, keys)
    key = keys.lookup(settings.provider)
    log.info(
        "ChatKit Desk on %s/chatkit — provider %s, model %s, API key %s",
        base_url(settings),
        settings.provider,
        settings.model,
        f"from the {key.source}" if key.found else "NOT configured",
    )
    if not key.found:
        log.warning(
            "no %s API key%s: chats will say so until one is set (chatkit-desk keys set %s)",
            secrets.PROVIDER_LABELS[settings.provider],
            f" ({key.problem})" if key.problem else "",
            settings.provider,
        )
    if not is_loopback(settings.host):
        log.warning(
            "listening on %s, which other machines can reach: tokens stay mandatory on every "
            "chat request; requests must be addressed to a loopback name or one of "
            "CHATKIT_DESK_ALLOWED_HOSTS (%s)",
            settings.host,
            ", ".join(settings.allowed_hosts) or "none set",
        )
    if os.environ.get(WATCH_PARENT_ENV) == "1" and sys.platform != "win32":
        stop_when_parent_exits()
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[sock])
