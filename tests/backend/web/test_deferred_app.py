"""/health answers while the chat stack loads; everything else waits for it, or says it failed."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from backend.secrets import KeyCache
from backend.settings import LiveSettings
from backend.web.deferred_app import DeferredApp
from tests.support.keyrings import MemoryKeyring


class Lifespan:
    """Drives an ASGI app's lifespan the way uvicorn does."""

    def __init__(self, app: DeferredApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict] = asyncio.Queue()

    async def __aenter__(self) -> Lifespan:
        self.task = asyncio.create_task(
            self.app({"type": "lifespan"}, self.inbox.get, self.outbox.put)
        )
        await self.inbox.put({"type": "lifespan.startup"})
        assert (await self.outbox.get())["type"] == "lifespan.startup.complete"
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.task


async def test_health_first_then_the_app(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    release = threading.Event()

    def load() -> Starlette:
        release.wait(10)  # the slow imports
        return Starlette(
            routes=[Route("/chatkit", lambda r: PlainTextResponse("loaded"), methods=["POST"])]
        )

    app = DeferredApp(load, LiveSettings(tmp_path).current, KeyCache(tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with (
        Lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
    ):
        health = await client.get("/health")
        assert health.status_code == 200 and health.json()["app"] == "chatkit-desk"
        assert health.json()["ready"] is False, "it says it is not ready to chat yet"
        assert health.json()["tools_in_use"] == [], "no tool runs before the app has loaded"
        assert (await client.get("/health", headers={"Host": "evil.example"})).status_code == 421

        waiting = asyncio.create_task(client.post("/chatkit"))
        await asyncio.sleep(0.2)  # a negative check: nothing may answer it meanwhile
        assert not waiting.done(), "a chat request waits for the app"
        release.set()
        assert (await waiting).text == "loaded"


async def test_a_failed_load_is_reported_everywhere(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    def load() -> Starlette:
        raise OSError("the database is unreadable")

    app = DeferredApp(load, LiveSettings(tmp_path).current, KeyCache(tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with (
        Lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
    ):
        # /health may still answer "starting" until the loader thread has failed: wait for it
        deadline = asyncio.get_running_loop().time() + 60
        while (health := await client.get("/health")).status_code == 200:
            assert asyncio.get_running_loop().time() < deadline, "the failure was never reported"
            await asyncio.sleep(0.01)
        for response in (health, await client.post("/chatkit")):
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "startup_failed"


async def test_a_stop_while_loading_does_not_wait_for_the_load(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    release = threading.Event()

    def load() -> Starlette:
        release.wait(60)  # imports that take long on a busy machine
        return Starlette()

    app = DeferredApp(load, LiveSettings(tmp_path).current, KeyCache(tmp_path))
    transport = httpx.ASGITransport(app=app)
    try:
        lifespan = Lifespan(app)
        await lifespan.__aenter__()
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            waiting = asyncio.create_task(client.post("/chatkit"))
            await asyncio.wait_for(lifespan.__aexit__(), timeout=30)  # done before the load
            answer = await asyncio.wait_for(waiting, timeout=30)
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "stopping"
    finally:
        release.set()
        for loader in [t for t in threading.enumerate() if t.name == "load-app"]:
            loader.join(timeout=60)  # its late answer must find the stopped loop harmlessly
