"""The FastAPI application: routes, error format, and the services they share.

A plain factory: building the app has no effect on the process (its tuning and the warm-up
are ``backend.serve``'s), so tests can build as many as they like.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from backend import __version__
from backend.attachments.housekeeping import collect_unsent_attachments
from backend.attachments.previews import PreviewLinks
from backend.attachments.service import DeskAttachments
from backend.chat.gate import ProviderGate
from backend.chat.providers import ProviderRegistry
from backend.chat.server import DeskChatKitServer
from backend.drain import Drain
from backend.secrets import KeyCache
from backend.settings import LiveSettings
from backend.store.storage import Storage
from backend.tokens import TokenAuthority
from backend.tools.hub import ToolHub
from backend.web import (
    attachments_route,
    chatkit_route,
    pages_route,
    probes,
    simple_chat_route,
    tools_route,
    usage_route,
)
from backend.web.access_log import AccessLog
from backend.web.auth import token_user
from backend.web.error_handlers import install_error_handlers
from backend.web.guards import RequestGuard
from backend.web.health import health_payload
from backend.web.limits import RateLimiter, StreamSlots
from backend.web.metrics import Metrics
from backend.web.probes import DrainGuard
from backend.web.services import Services, settings_of


def create_app(
    live_settings: LiveSettings,
    tokens: TokenAuthority,
    keys: KeyCache,
    providers: ProviderRegistry,
    storage: Storage,
    drain: Drain | None = None,
) -> FastAPI:
    """The app on ``storage`` (``backend.store.storage``), which its lifespan opens and closes.

    ``drain`` is the server's (``backend.serve``), which it starts on a stop signal."""
    settings = live_settings.current()
    drain = drain or Drain()
    store = storage.store
    streams = StreamSlots(settings.max_streams_per_user, settings.max_streams)
    metrics = Metrics(active_streams=lambda: streams.active)
    gate = ProviderGate(
        settings.provider_concurrency, settings.provider_queue, settings.provider_queue_wait
    )
    tools = ToolHub(lambda: live_settings.current().mcp_config_file, settings.log_dir)
    previews = PreviewLinks(tokens)
    attachments = DeskAttachments(store, tokens, previews)
    chatkit = DeskChatKitServer(
        store,
        providers,
        gate,
        metrics.record_turn,
        tools,
        storage.approvals,
        attachments,
        previews,
        drain,
    )
    desk = Services(
        store=store,
        attachments=attachments,
        used_logins=storage.used_logins,
        providers=providers,
        chatkit=chatkit,
        tools=tools,
        tokens=tokens,
        rate_limiter=RateLimiter(settings.rate_limit_per_minute, storage.rate_buckets),
        streams=streams,
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await storage.open()  # the desktop's also sweeps what a crash mid-upload left
        tools.start()  # the tool servers connect in the background
        collector = asyncio.create_task(
            collect_unsent_attachments(attachments, lambda: live_settings.current())
        )
        try:
            yield
        finally:
            collector.cancel()
            await tools.aclose()
            await providers.aclose()
            await storage.close()

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
    app.include_router(attachments_route.router)
    app.include_router(simple_chat_route.router)
    app.include_router(pages_route.router)
    app.include_router(tools_route.router)
    app.include_router(usage_route.router)
    app.add_middleware(DrainGuard, drain=drain)
    app.add_middleware(RequestGuard, settings=live_settings.current)
    app.add_middleware(AccessLog, metrics=metrics)  # outermost: sees every answer, 421s too

    @app.get(probes.LIVEZ, response_model=None)
    async def livez() -> Response:
        return probes.alive()

    @app.get(probes.READYZ, response_model=None)
    async def readyz() -> Response:
        return await probes.readiness(drain, storage.ping)

    @app.get("/health")
    async def health(request: Request) -> dict[str, object]:
        return health_payload(settings_of(request), keys, ready=True, tools_in_use=tools.running())

    @app.get("/metrics", response_model=None, dependencies=[Depends(token_user)])
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app
