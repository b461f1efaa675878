"""The FastAPI application: routes, error format, and the services they share."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from backend import __version__
from backend.chat.gate import ProviderGate
from backend.chat.providers import ProviderRegistry
from backend.chat.server import DeskChatKitServer
from backend.chat.warm_up import warm_up
from backend.health import health_payload
from backend.secrets import KeyCache
from backend.settings import LiveSettings
from backend.store import SQLiteStore
from backend.store.login_tokens import UsedLoginTokens
from backend.tokens import TokenAuthority
from backend.web import chatkit_route, pages_route, simple_chat_route
from backend.web.access_log import AccessLog
from backend.web.auth import user_from_header
from backend.web.errors import install_error_handlers
from backend.web.guards import RequestGuard
from backend.web.limits import RateLimiter, StreamSlots
from backend.web.metrics import Metrics
from backend.web.services import Services, services

YOUNG_COLLECTION_THRESHOLD = 50_000
"""Allocations between two young-generation collections (bench/: −0.1 ms relay per delta)."""


def create_app(live_settings: LiveSettings, tokens: TokenAuthority, keys: KeyCache) -> FastAPI:
    settings = live_settings.current()
    store = SQLiteStore(settings.database_file)
    used_logins = UsedLoginTokens(settings.database_file)
    providers = ProviderRegistry(keys)
    streams = StreamSlots(settings.max_streams_per_user, settings.max_streams)
    metrics = Metrics(active_streams=lambda: streams.active)
    gate = ProviderGate(
        settings.provider_concurrency, settings.provider_queue, settings.provider_queue_wait
    )
    desk = Services(
        live_settings=live_settings,
        store=store,
        used_logins=used_logins,
        providers=providers,
        chatkit=DeskChatKitServer(
            store, live_settings.current, providers, gate, metrics.record_turn
        ),
        tokens=tokens,
        rate_limiter=RateLimiter(settings.rate_limit_per_minute),
        streams=streams,
        metrics=metrics,
    )
    warm_up(tokens, providers, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything imported so far lives as long as the process: keep it out of the
        # collector's full passes, which otherwise stall a stream for 60-140 ms now and then.
        gc.collect()
        gc.freeze()
        # A turn allocates tens of thousands of objects, nearly all freed by reference counting:
        # at the default threshold (700) the collector ran dozens of times per turn for little.
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
        try:
            yield
        finally:
            await providers.aclose()
            used_logins.close()
            store.close()

    app = FastAPI(
        title="ChatKit Desk",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = desk
    install_error_handlers(app)
    app.include_router(chatkit_route.router)
    app.include_router(simple_chat_route.router)
    app.include_router(pages_route.router)
    app.add_middleware(RequestGuard, settings=live_settings.current)
    app.add_middleware(AccessLog, metrics=metrics)  # outermost: sees every answer, 421s too

    @app.get("/health")
    async def health(request: Request) -> dict[str, object]:
        return health_payload(services(request).settings, keys)

    @app.get("/metrics", response_model=None)
    async def prometheus_metrics(request: Request) -> Response:
        user_from_header(services(request).tokens, request.headers.get("authorization"))
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app
