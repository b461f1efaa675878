"""``chatkit-desk serve``: the process that answers HTTP, and everything that is process-wide.

The port is bound first (a busy port is one clear line and its own exit code), ``/health``
answers at once, and the chat stack is loaded, warmed up and the process tuned in a thread
meanwhile (``backend.web.deferred_app``). Only this module changes the process: the garbage
collector's settings, the openai request hook, the warm-up; building the app does none of it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
import signal
import socket
from types import FrameType
from typing import Any

import uvicorn

from backend import logs, secrets
from backend.drain import Drain
from backend.hosts import base_url, is_loopback
from backend.settings import LiveSettings
from backend.store.storage import Storage, open_storage
from backend.supervision import (
    WATCH_PARENT_ENV,
    bind,
    remove_runtime_file,
    stop_when_parent_exits,
    write_runtime_file,
)
from backend.tokens import DEFAULT_SUBJECT, TokenAuthority
from backend.web.deferred_app import DeferredApp

log = logging.getLogger("chatkit_desk")

KEEP_ALIVE_SECONDS = 330
"""How long an idle client connection is kept open. It must outlast the idle expiry of every
common client (httpx 5 s, Node's undici 4 s, aiohttp 15 s, Firefox 115 s, Chromium 300 s):
when the server closes first, a client may reuse the connection at the very moment it closes
and lose that request (uvicorn's default of 5 s raced httpx's pool exactly)."""

YOUNG_COLLECTION_THRESHOLD = 50_000
"""Allocations between two young-generation collections. A turn allocates tens of thousands
of objects, nearly all freed by reference counting: at the default (700) the collector ran
dozens of times per turn for little (``docs/performance.md``)."""

QUICK_STOP_SECONDS = 5.0
"""The drain on Ctrl+C or the tray's Stop (SIGINT): a person waiting for the server to stop,
not a load balancer moving users elsewhere (SIGTERM, ``CHATKIT_DESK_DRAIN_SECONDS``)."""
END_OF_STREAMS_SECONDS = 5.0
"""After the drain deadline, how long the ended streams have to send their last event before
uvicorn cancels what is left."""


class DrainingServer(uvicorn.Server):
    """uvicorn, telling the app it drains before uvicorn stops accepting (``backend.drain``)."""

    def __init__(self, config: uvicorn.Config, drain: Drain, drain_seconds: float) -> None:
        super().__init__(config)
        self._drain = drain
        self._drain_seconds = drain_seconds

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._drain.attach(asyncio.get_running_loop())
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM:
            self._drain.begin_soon(self._drain_seconds)
        else:
            self._drain.begin_soon(min(self._drain_seconds, QUICK_STOP_SECONDS))
        super().handle_exit(sig, frame)


def load_chat_app(
    live_settings: LiveSettings,
    tokens: TokenAuthority,
    keys: secrets.KeyCache,
    storage: Storage,
    drain: Drain | None = None,
) -> Any:
    """The chat app, built, warmed up and with the process tuned for it (in the loader thread,
    while ``/health`` already answers)."""
    from backend.chat import request_transform
    from backend.chat.providers import ProviderRegistry
    from backend.chat.warm_up import warm_up
    from backend.web.app import create_app

    request_transform.install()
    providers = ProviderRegistry(keys)
    app = create_app(live_settings, tokens, keys, providers, storage, drain)
    warm_up(providers, live_settings.current())
    tokens.subject_of(tokens.issue(DEFAULT_SUBJECT, ttl_seconds=60))  # imports PyJWT now
    _tune_garbage_collector()
    return app


def _tune_garbage_collector() -> None:
    # Everything loaded so far lives as long as the process: keep it out of the collector's
    # full passes, which otherwise stall a stream for 60-140 ms now and then.
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


def run(live_settings: LiveSettings) -> None:
    """Serve until interrupted. What stops it from starting (``PortInUse``, ``DatabaseUnusable``,
    ``SigningSecretUnavailable``, ``SettingsError``) is raised before anything listens."""
    settings = live_settings.current()
    settings.check_team_mode()
    tokens = TokenAuthority.from_configured(settings.jwt_secret, settings.data_dir)
    keys = secrets.KeyCache(settings.data_dir)
    logs.known_secrets([tokens.secret, *(keys.lookup(p).value for p in secrets.PROVIDERS)])
    storage = open_storage(settings)
    sock = bind(settings.host, settings.port)
    write_runtime_file(settings.data_dir, base_url(settings))  # where the tray finds us
    drain = Drain()
    app = DeferredApp(
        lambda: load_chat_app(live_settings, tokens, keys, storage, drain),
        live_settings.current,
        keys,
        on_stop=lambda: remove_runtime_file(settings.data_dir),  # before uvicorn exits
    )
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
    if os.environ.get(WATCH_PARENT_ENV) == "1":
        stop_when_parent_exits()
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=math.ceil(settings.drain_seconds + END_OF_STREAMS_SECONDS),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies or ["127.0.0.1"],
    )
    DrainingServer(config, drain, settings.drain_seconds).run(sockets=[sock])
