"""Start answering before the chat stack has loaded.

Importing the Agents SDK, the openai types and the ChatKit SDK, and warming them up for the
first turn (``backend.chat.warm_up``), takes most of the server's start-up (~2.5 s of ~3 s). The
socket is bound first; this app then loads the real one in a thread while it already answers
``/health`` with ``"ready": false`` (settings and keyring only, behind the same Host and Origin
checks), so the tray shows the server as starting at once; ``/livez`` answers that it lives and
``/readyz`` that it is not ready yet, so a load balancer sends it nothing. Any other request
simply waits until the app is there (a few seconds, once, at start-up); nothing is refused. The
loaded app answers ``"ready": true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.secrets import KeyCache
from backend.settings import Settings
from backend.web import probes
from backend.web.errors import error_response
from backend.web.guards import RequestGuard, settings_of
from backend.web.health import health_payload

log = logging.getLogger(__name__)


class DeferredApp:
    def __init__(
        self,
        load: Callable[[], Any],
        settings: Callable[[], Settings],
        keys: KeyCache,
        on_stop: Callable[[], None] = lambda: None,
    ) -> None:
        """``on_stop`` runs as the server stops (its lifespan's end, even when a signal stops it,
        which a ``finally`` around uvicorn would not see)."""
        self._load = load
        self._on_stop = on_stop
        self._settings = settings
        self._keys = keys
        self._app: ASGIApp | None = None
        self._failure: BaseException | None = None
        self._ready: asyncio.Event | None = None
        self._early_answers: dict[str, ASGIApp] = {
            "/health": RequestGuard(self._health, settings=settings),
            probes.LIVEZ: probes.alive(),
            probes.READYZ: probes.starting(),
        }

    async def _health(self, scope: Scope, receive: Receive, send: Send) -> None:
        payload = health_payload(settings_of(scope), self._keys, ready=False, tools_in_use=[])
        await JSONResponse(payload)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._app is None:
            if self._failure is None and scope["type"] == "http":
                early = self._early_answers.get(scope["path"])
                if early is not None:
                    await early(scope, receive, send)
                    return
            assert self._ready is not None
            await self._ready.wait()
            if self._app is None:
                await self._unavailable(scope, receive, send)
                return
        await self._app(scope, receive, send)

    async def _unavailable(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app failed to load, or the server stopped before it had: say so (also on
        /health, so a supervisor restarts a server that failed)."""
        if self._failure is None:
            answer = error_response(503, "stopping", "The server is stopping; try again soon.")
        else:
            message = f"The server failed to start ({type(self._failure).__name__}); see its log."
            answer = error_response(503, "startup_failed", message)
        await answer(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        loaded: asyncio.Future[Any] = loop.create_future()

        def settle(outcome: Callable[[], None]) -> None:
            if not loaded.done():  # the server may have been told to stop meanwhile
                outcome()

        def load_in_thread() -> None:
            try:
                outcome = functools.partial(loaded.set_result, self._load())
            except BaseException as exc:  # reported on the loop, where it can be raised
                outcome = functools.partial(loaded.set_exception, exc)
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped
                loop.call_soon_threadsafe(settle, outcome)

        threading.Thread(target=load_in_thread, name="load-app", daemon=True).start()
        await send({"type": "lifespan.startup.complete"})

        shutdown = asyncio.ensure_future(receive())
        await asyncio.wait({loaded, shutdown}, return_when=asyncio.FIRST_COMPLETED)
        if not loaded.done():  # told to stop while loading: do not wait for the load
            loaded.cancel()
            self._ready.set()
            self._on_stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
        async with contextlib.AsyncExitStack() as stack:
            try:
                app = loaded.result()
                await stack.enter_async_context(app.router.lifespan_context(app))
                self._app = app
            except BaseException as exc:
                self._failure = exc
                log.exception("the server could not load")
            finally:
                self._ready.set()
            await shutdown  # lifespan.shutdown
        self._on_stop()
        await send({"type": "lifespan.shutdown.complete"})
