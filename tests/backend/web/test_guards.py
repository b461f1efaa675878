"""RequestGuard: Host allowlist (421), Origin allowlist with CORS (403), body size (413)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.settings import Settings
from backend.web import guards
from backend.web.guards import RequestGuard
from tests.support.contexts import settings_with

LIMIT = 2048
SETTINGS = settings_with(
    port=8765,
    max_body_bytes=LIMIT,
    allowed_hosts=["desk.internal"],
    allowed_origins=["http://localhost:5173", "https://Chat.Example.com"],
)
OWN_ORIGINS = ["http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765"]


class Recorder:
    """The app behind the guard: counts the requests that reach it and what they saw."""

    def __init__(self) -> None:
        self.calls = 0
        self.bodies: list[bytes] = []
        self.settings: list[Settings] = []

    async def endpoint(self, request: Request) -> JSONResponse:
        self.calls += 1
        self.settings.append(guards.settings_of(request.scope))
        body = await request.body()
        self.bodies.append(body)
        return JSONResponse({"received": len(body)})


def guarded_app(recorder: Recorder, settings: Callable[[], Settings]) -> Starlette:
    # Where the real app puts it: inside Starlette's error middleware, around the routes.
    return Starlette(
        routes=[Route("/chatkit", recorder.endpoint, methods=["GET", "POST"])],
        middleware=[Middleware(RequestGuard, settings=settings)],
    )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=guarded_app(recorder, lambda: SETTINGS))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    for word in words:
        assert word in body["error"]["message"]


def recorder_app(recorder: Recorder) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        recorder.calls += 1
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    return app


async def call(app: ASGIApp, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


# Host


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8765",
        "127.0.0.1.evil.example",
        "localhost.evil.example:8765",
        "192.168.1.20:8765",
        "",
    ],
)
async def test_a_host_not_allowed_is_refused_with_421_before_the_app(
    client: httpx.AsyncClient, recorder: Recorder, host: str
) -> None:
    response = await client.get("/chatkit", headers={"Host": host})
    assert_error(response, 421, "host_not_allowed", "localhost", "CHATKIT_DESK_ALLOWED_HOSTS")
    assert recorder.calls == 0


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8765",
        "127.0.0.1",
        "localhost:8765",
        "localhost:3000",
        "LocalHost:8765",
        "[::1]:8765",
        "[::1]",
        "desk.internal:8765",
        "Desk.Internal",
    ],
)
async def test_loopback_names_and_configured_hosts_pass(
    client: httpx.AsyncClient, recorder: Recorder, host: str
) -> None:
    response = await client.get("/chatkit", headers={"Host": host})
    assert response.status_code == 200
    assert recorder.calls == 1


async def test_a_request_without_a_host_header_is_refused(recorder: Recorder) -> None:
    guard = RequestGuard(recorder_app(recorder), settings=lambda: SETTINGS)
    messages = await call(guard, {"type": "http", "method": "GET", "path": "/", "headers": []})
    assert messages[0]["status"] == 421
    assert recorder.calls == 0


# Origin


async def test_a_request_without_an_origin_passes_without_cors_headers(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await client.post("/chatkit", content=b"{}", headers={"Host": "localhost:8765"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert recorder.calls == 1


@pytest.mark.parametrize(
    "origin",
    [*OWN_ORIGINS, "http://localhost:5173", "https://chat.example.com", "http://localhost:8765/"],
)
async def test_own_and_configured_origins_get_cors_headers(
    client: httpx.AsyncClient, recorder: Recorder, origin: str
) -> None:
    response = await client.post(
        "/chatkit", content=b"{}", headers={"Host": "localhost:8765", "Origin": origin}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers
    assert recorder.calls == 1


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "http://evil.example",
        "http://localhost:9999",
        "https://localhost:8765",
        "http://localhost:5173.evil.example",
        "http://127.0.0.1",
    ],
)
async def test_any_other_origin_is_refused_with_403_before_the_app(
    client: httpx.AsyncClient, recorder: Recorder, origin: str
) -> None:
    response = await client.post(
        "/chatkit", content=b"{}", headers={"Host": "localhost:8765", "Origin": origin}
    )
    assert_error(
        response,
        403,
        "origin_not_allowed",
        f"Requests from {origin} are not allowed",
        "CHATKIT_DESK_ALLOWED_ORIGINS",
    )
    assert "access-control-allow-origin" not in response.headers
    assert recorder.calls == 0


async def test_the_host_is_checked_before_the_origin(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await client.get(
        "/chatkit", headers={"Host": "evil.example", "Origin": "http://evil.example"}
    )
    assert response.status_code == 421
    assert recorder.calls == 0


async def test_a_preflight_from_an_allowed_origin_gets_204_with_the_allowed_methods(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await client.options(
        "/chatkit",
        headers={
            "Host": "localhost:8765",
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert response.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert response.headers["access-control-allow-headers"] == "Authorization, Content-Type"
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers
    assert recorder.calls == 0


async def test_a_preflight_from_another_origin_is_refused(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await client.options(
        "/chatkit",
        headers={
            "Host": "localhost:8765",
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert_error(response, 403, "origin_not_allowed")
    assert "access-control-allow-methods" not in response.headers
    assert recorder.calls == 0


# Body size


async def test_a_declared_body_over_the_limit_is_refused_with_413_before_the_app(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await client.post(
        "/chatkit", content=b"x" * (LIMIT + 1), headers={"Host": "localhost:8765"}
    )
    assert_error(
        response,
        413,
        "body_too_large",
        f"larger than {LIMIT} bytes",
        "CHATKIT_DESK_MAX_BODY_BYTES",
    )
    assert recorder.calls == 0


async def test_a_body_at_the_limit_passes(client: httpx.AsyncClient, recorder: Recorder) -> None:
    response = await client.post(
        "/chatkit", content=b"x" * LIMIT, headers={"Host": "localhost:8765"}
    )
    assert response.status_code == 200
    assert response.json() == {"received": LIMIT}


async def chunks(count: int, size: int = 512) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"x" * size


async def test_a_streamed_body_over_the_limit_without_a_length_is_refused_with_413(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    request = client.build_request(
        "POST", "/chatkit", content=chunks(LIMIT // 512 + 1), headers={"Host": "localhost:8765"}
    )
    assert "content-length" not in request.headers
    response = await client.send(request)
    assert_error(response, 413, "body_too_large", f"larger than {LIMIT} bytes")
    assert recorder.bodies == []  # the route never got the body


async def test_a_streamed_body_within_the_limit_reaches_the_app_whole(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await client.post(
        "/chatkit", content=chunks(LIMIT // 512), headers={"Host": "localhost:8765"}
    )
    assert response.status_code == 200
    assert recorder.bodies == [b"x" * LIMIT]


async def test_an_answer_already_started_is_not_followed_by_a_413(recorder: Recorder) -> None:
    async def streams_first(scope: Scope, receive: Receive, send: Send) -> None:
        recorder.calls += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    chunk = {"type": "http.request", "body": b"x" * 512, "more_body": True}
    incoming = [chunk] * (LIMIT // 512 + 1)
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    guard = RequestGuard(streams_first, settings=lambda: SETTINGS)
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"host", b"localhost")]}
    await guard(scope, receive, send)
    assert recorder.calls == 1
    assert [message["type"] for message in sent] == ["http.response.start"]
    assert sent[0]["status"] == 200


async def test_a_browser_frontend_can_read_the_413(client: httpx.AsyncClient) -> None:
    origin = "http://localhost:5173"
    declared = await client.post(
        "/chatkit",
        content=b"x" * (LIMIT + 1),
        headers={"Host": "localhost:8765", "Origin": origin},
    )
    streamed = await client.post(
        "/chatkit",
        content=chunks(LIMIT // 512 + 1),
        headers={"Host": "localhost:8765", "Origin": origin},
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["access-control-allow-origin"] == origin


# Settings


async def test_the_route_sees_the_settings_the_guard_took(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    await client.get("/chatkit", headers={"Host": "localhost:8765"})
    assert recorder.settings == [SETTINGS]
    assert recorder.settings[0] is SETTINGS


async def test_changed_settings_apply_to_the_next_request(recorder: Recorder) -> None:
    before = settings_with(max_body_bytes=LIMIT)
    after = settings_with(
        max_body_bytes=LIMIT,
        allowed_origins=["http://localhost:5173"],
        allowed_hosts=["desk.internal"],
    )
    current = [before]
    transport = httpx.ASGITransport(app=guarded_app(recorder, lambda: current[0]))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8765") as client:
        frontend = {"Host": "localhost:8765", "Origin": "http://localhost:5173"}
        proxied = {"Host": "desk.internal"}
        assert (await client.get("/chatkit", headers=frontend)).status_code == 403
        assert (await client.get("/chatkit", headers=proxied)).status_code == 421

        current[0] = after
        assert (await client.get("/chatkit", headers=frontend)).status_code == 200
        assert (await client.get("/chatkit", headers=proxied)).status_code == 200
        assert recorder.settings == [after, after]
        assert all(seen is after for seen in recorder.settings)

        current[0] = before  # and back: an origin removed is refused again
        assert (await client.get("/chatkit", headers=frontend)).status_code == 403


# Other kinds of connection


OTHER_SCOPES: list[Scope] = [
    {"type": "lifespan"},
    {"type": "websocket", "path": "/", "headers": [(b"host", b"evil.example")]},
]


@pytest.mark.parametrize("scope", OTHER_SCOPES, ids=["lifespan", "websocket"])
async def test_connections_other_than_http_pass_through(recorder: Recorder, scope: Scope) -> None:
    guard = RequestGuard(recorder_app(recorder), settings=lambda: SETTINGS)
    await call(guard, scope)
    assert recorder.calls == 1
