"""/livez and /readyz for health checkers; while draining, a retryable 503 for anything new."""

from __future__ import annotations

import json

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.drain import Drain
from backend.web import probes
from backend.web.guards import RequestGuard
from tests.support.contexts import settings_with


async def answers() -> None:
    return None


async def refuses() -> None:
    raise ConnectionRefusedError


def app_for(drain: Drain) -> Starlette:
    """The probes and a chat route behind the guards, in the real app's order."""

    async def readyz(_: Request) -> Response:
        return await probes.readiness(drain, answers)

    async def chat(_: Request) -> JSONResponse:
        return JSONResponse({"answered": True})

    return Starlette(
        routes=[
            Route(probes.LIVEZ, lambda _: probes.alive()),
            Route(probes.READYZ, readyz),
            Route("/chatkit", chat, methods=["POST"]),
        ],
        middleware=[
            Middleware(RequestGuard, settings=lambda: settings_with(port=8765)),
            Middleware(probes.DrainGuard, drain=drain),
        ],
    )


async def get(app: Starlette, path: str, host: str = "127.0.0.1:8765") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
        if path == "/chatkit":
            return await client.post(path, json={})
        return await client.get(path)


async def test_probes_answer_whatever_host_a_health_checker_addresses() -> None:
    app = app_for(Drain())
    for path, status in ((probes.LIVEZ, "alive"), (probes.READYZ, "ready")):
        answer = await get(app, path, host="10.1.2.3:8765")
        assert (answer.status_code, answer.json()) == (200, {"status": status})
    assert (await get(app, "/chatkit", host="10.1.2.3:8765")).status_code == 421


async def test_draining_is_not_ready_and_refuses_new_requests_with_a_retryable_503() -> None:
    drain = Drain()
    app = app_for(drain)
    assert (await get(app, "/chatkit")).status_code == 200
    drain.begin(30)

    ready = await get(app, probes.READYZ)
    assert ready.status_code == 503 and ready.json()["error"]["code"] == "draining"
    refused = await get(app, "/chatkit")
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "draining"
    assert (await get(app, probes.LIVEZ)).status_code == 200  # alive: do not restart it


async def test_a_database_that_does_not_answer_is_not_ready() -> None:
    answer = await probes.readiness(Drain(), refuses)
    body = json.loads(bytes(answer.body))
    assert answer.status_code == 503
    assert body["error"]["code"] == "database_unreachable"
    assert "ConnectionRefusedError" in body["error"]["message"]
