"""Nobody but the user gets in: tokens, sign-in, Host and Origin checks, limits, no leaks."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.desk_process import (
    TEST_JWT_SECRET,
    DeskProcess,
    make_token,
    run_cli,
)
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient, parse_sse, user_input

LIST = {"type": "threads.list", "params": {}}


def post(desk: DeskProcess, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(f"{desk.url}/chatkit", json=body, headers=headers, timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# 1. Tokens


def forged_tokens() -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": "mallory", "iat": now, "exp": now + 600}
    good = make_token("alice")
    header, _payload, signature = good.split(".")
    tampered = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "alice-admin"}).encode())
    return {
        "expired": make_token("alice", ttl=-10),
        "wrong signature": make_token("alice", secret="another-secret-" + "x" * 40),
        "tampered payload": f"{header}.{tampered.rstrip(b'=').decode()}.{signature}",
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "HS512": jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS512"),
        "no exp": jwt.encode({"sub": "a", "iat": now}, TEST_JWT_SECRET, algorithm="HS256"),
        "login link as bearer": jwt.encode(
            {**claims, "purpose": "login", "jti": "x"}, TEST_JWT_SECRET, algorithm="HS256"
        ),
        "garbage": "abc.def.ghi",
    }


@pytest.mark.parametrize("case", list(forged_tokens()))
def test_bad_tokens_are_refused_with_a_reason(openai_desk: DeskProcess, case: str) -> None:
    token = forged_tokens()[case]
    for path in ("/chatkit", "/api/chat"):
        response = httpx.post(
            f"{openai_desk.url}{path}", json=LIST, headers=bearer(token), timeout=60
        )
        assert response.status_code == 401, (case, path)
        error = response.json()["error"]
        assert error["code"] in ("token_expired", "token_invalid")
        assert error["message"]
    if case == "expired":
        assert "expired" in response.json()["error"]["message"]


# 3. Browser sign-in


@pytest.fixture
def cli_env(openai_desk: DeskProcess) -> dict[str, str]:
    return {**openai_desk.env}


def sign_in_link(env: dict[str, str]) -> str:
    result = run_cli(["open", "--print-url"], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_one_time_link_gives_a_strict_httponly_session(
    openai_desk: DeskProcess, cli_env: dict[str, str]
) -> None:
    link = sign_in_link(cli_env)
    assert link.startswith(f"{openai_desk.url}/login?token=")

    with httpx.Client(timeout=60) as browser:
        response = browser.get(link)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert f"chatkit_desk_session_{openai_desk.port}=" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert response.headers["cache-control"] == "no-store"

        page = browser.get(f"{openai_desk.url}/")
        assert page.status_code == 200 and "ChatKit Desk" in page.text
        threads = browser.post(f"{openai_desk.url}/chatkit", json=LIST)
        assert threads.status_code == 200, "the cookie authenticates the chat routes as 'local'"

    with httpx.Client(timeout=60) as other_browser:
        reused = other_browser.get(link)
        assert reused.status_code == 401
        assert "already used" in reused.text
        assert "set-cookie" not in reused.headers
        assert other_browser.get(f"{openai_desk.url}/").status_code == 401


def test_without_a_session_the_page_explains_how_to_sign_in(openai_desk: DeskProcess) -> None:
    page = httpx.get(f"{openai_desk.url}/", timeout=60)
    assert page.status_code == 401
    assert "chatkit-desk open" in page.text
    assert httpx.get(f"{openai_desk.url}/static/app.js", timeout=60).status_code == 401
    expired = jwt.encode(
        {"sub": "local", "iat": 0, "exp": 1, "purpose": "login", "jti": "old"},
        TEST_JWT_SECRET,
        algorithm="HS256",
    )
    assert "not valid" in httpx.get(f"{openai_desk.url}/login?token={expired}", timeout=60).text


def test_session_cookie_is_not_a_bearer_token(
    openai_desk: DeskProcess, cli_env: dict[str, str]
) -> None:
    with httpx.Client(timeout=60) as browser:
        browser.get(sign_in_link(cli_env))
        session = browser.cookies[f"chatkit_desk_session_{openai_desk.port}"]
    assert post(openai_desk, LIST, **bearer(session)).status_code == 401


# 4. Host allowlist (DNS rebinding)


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", ""]
)
def test_foreign_host_gets_421(openai_desk: DeskProcess, host: str) -> None:
    response = httpx.get(f"{openai_desk.url}/health", headers={"Host": host}, timeout=60)
    assert response.status_code == 421
    assert response.json()["error"]["code"] == "host_not_allowed"


def test_missing_host_gets_421(openai_desk: DeskProcess) -> None:
    with socket.create_connection(("127.0.0.1", openai_desk.port)) as connection:
        connection.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        answer = connection.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 421")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_names_are_fine(openai_desk: DeskProcess, host: str) -> None:
    response = httpx.get(
        f"{openai_desk.url}/health",
        headers={"Host": f"{host}:{openai_desk.port}"},
        timeout=60,
    )
    assert response.status_code == 200


def test_configured_host_is_allowed(desk_factory: Callable[..., DeskProcess]) -> None:
    desk = desk_factory(CHATKIT_DESK_ALLOWED_HOSTS="chat.internal")
    assert (
        httpx.get(f"{desk.url}/health", headers={"Host": "chat.internal"}, timeout=60).status_code
        == 200
    )
    assert (
        httpx.get(f"{desk.url}/health", headers={"Host": "other.internal"}, timeout=60).status_code
        == 421
    )


# 5. Origin allowlist and CORS


def test_no_origin_is_fine_and_gets_no_cors(openai_desk: DeskProcess, user: str) -> None:
    response = post(openai_desk, LIST, **bearer(make_token(user)))
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_own_origin_is_allowed(openai_desk: DeskProcess, user: str) -> None:
    own = f"http://127.0.0.1:{openai_desk.port}"
    response = post(openai_desk, LIST, Origin=own, **bearer(make_token(user)))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == own


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:1"])
def test_foreign_origin_is_refused_before_anything_runs(
    openai_desk: DeskProcess, upstream: FakeUpstream, user: str, origin: str
) -> None:
    calls = len(upstream.state.requests)
    body = {"type": "threads.create", "params": {"input": user_input("leak my key")}}
    response = post(openai_desk, body, Origin=origin, **bearer(make_token(user)))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "CHATKIT_DESK_ALLOWED_ORIGINS" in response.json()["error"]["message"]
    assert len(upstream.state.requests) == calls, "the provider was never called"
    assert DeskClient(openai_desk.url, make_token(user)).list_threads().body["data"] == []


def test_configured_frontend_origin_gets_cors_and_preflight(
    desk_factory: Callable[..., DeskProcess], user: str
) -> None:
    desk = desk_factory(CHATKIT_DESK_ALLOWED_ORIGINS="http://localhost:5173")
    preflight = httpx.options(
        f"{desk.url}/chatkit",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert preflight.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert preflight.headers["access-control-allow-headers"] == "Authorization, Content-Type"
    assert "access-control-allow-credentials" not in preflight.headers

    body = {"type": "threads.create", "params": {"input": user_input("hi from vite")}}
    stream = post(desk, body, Origin="http://localhost:5173", **bearer(make_token(user)))
    assert stream.status_code == 200
    assert stream.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert any(e["type"] == "thread.item.done" for e in parse_sse(stream.text))

    other = httpx.options(
        f"{desk.url}/chatkit",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert other.status_code == 403


# 6. Limits


def test_body_size_limit(openai_desk: DeskProcess, user: str) -> None:
    huge = {"type": "threads.list", "params": {}, "metadata": {"pad": "x" * 1_100_000}}
    response = post(openai_desk, huge, **bearer(make_token(user)))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"

    def chunks():
        yield b'{"type": "threads.list", "params": {}, "metadata": {"pad": "'
        for _ in range(120):
            yield b"x" * 10_000
        yield b'"}}'

    chunked = httpx.post(
        f"{openai_desk.url}/chatkit",
        content=chunks(),
        headers={**bearer(make_token(user)), "Content-Type": "application/json"},
        timeout=60,
    )
    assert chunked.status_code == 413


def test_body_limit_comes_before_authentication(openai_desk: DeskProcess) -> None:
    response = httpx.post(f"{openai_desk.url}/chatkit", content=b"x" * 2_000_000, timeout=60)
    assert response.status_code == 413


def test_message_length_limit(desk_factory: Callable[..., DeskProcess], user: str) -> None:
    desk = desk_factory(CHATKIT_DESK_MAX_MESSAGE_CHARS="100")
    reply = DeskClient(desk.url, make_token(user)).create_thread("x" * 101)
    assert reply.status == 413
    assert reply.body["error"]["code"] == "message_too_long"
    assert "101 characters; the limit is 100" in reply.body["error"]["message"]


def test_rate_limit_per_user(desk_factory: Callable[..., DeskProcess], user: str) -> None:
    desk = desk_factory(CHATKIT_DESK_RATE_LIMIT_PER_MINUTE="5")
    statuses = [post(desk, LIST, **bearer(make_token(user))).status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    limited = post(desk, LIST, **bearer(make_token(user)))
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    assert post(desk, LIST, **bearer(make_token(user + "-other"))).status_code == 200


def test_concurrent_stream_caps(
    desk_factory: Callable[..., DeskProcess], upstream: FakeUpstream, user: str
) -> None:
    desk = desk_factory(
        CHATKIT_DESK_MAX_STREAMS_PER_USER="1",
        CHATKIT_DESK_MAX_STREAMS="2",
        CHATKIT_DESK_UPSTREAM_TIMEOUT="300",  # the held streams must not time out meanwhile
    )
    held = {"type": "threads.create", "params": {"input": user_input(f"wait [hold:{user}]")}}
    quick = {"type": "threads.create", "params": {"input": user_input("quick")}}
    streaming = threading.Semaphore(0)

    def hold_stream(sub: str) -> None:
        with httpx.stream(
            "POST", f"{desk.url}/chatkit", json=held, headers=bearer(make_token(sub)), timeout=300
        ) as r:
            announced = False
            for line in r.iter_lines():
                if "text_delta" in line and not announced:
                    announced = True
                    streaming.release()

    holders = [threading.Thread(target=hold_stream, args=(sub,)) for sub in (user, user + "-2")]
    try:
        for holder in holders:
            holder.start()
        for _ in holders:
            assert streaming.acquire(timeout=120), "a held stream never started"

        per_user = post(desk, quick, **bearer(make_token(user)))
        assert per_user.status_code == 429
        assert per_user.json()["error"]["code"] == "too_many_streams"
        assert "CHATKIT_DESK_MAX_STREAMS_PER_USER" in per_user.json()["error"]["message"]
        total = post(desk, quick, **bearer(make_token(user + "-3")))
        assert total.status_code == 429
        assert "CHATKIT_DESK_MAX_STREAMS)" in total.json()["error"]["message"]
        assert post(desk, LIST, **bearer(make_token(user))).status_code == 200, "JSON still works"
    finally:
        upstream.release(user)
        for holder in holders:
            holder.join(timeout=120)
    assert post(desk, quick, **bearer(make_token(user))).status_code == 200, "slots are given back"


def test_sixty_four_concurrent_streams_from_one_token_pass(
    openai_desk: DeskProcess, user: str
) -> None:
    token = make_token(user)
    results: list[tuple[int, list[dict]]] = []

    def chat(index: int) -> None:
        body = {"type": "threads.create", "params": {"input": user_input(f"load {index}")}}
        response = post(openai_desk, body, **bearer(token))
        results.append((response.status_code, parse_sse(response.text)))

    workers = [threading.Thread(target=chat, args=(index,)) for index in range(64)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert [status for status, _ in results] == [200] * 64
    assert all(not any(e["type"] == "error" for e in events) for _, events in results)


# 7. Keys and tokens never leak


def test_a_whole_session_never_reveals_the_key_or_tokens(
    desk_factory: Callable[..., DeskProcess], tmp_path: Path, upstream: FakeUpstream
) -> None:
    key = "sk-LEAKCHECK-7f3a9c1e5b"
    data_dir = tmp_path / "leak-data"
    desk = desk_factory(data_dir, OPENAI_API_KEY=key)
    token = run_cli(["token", "--sub", "leaky"], desk.env).stdout.strip()
    link = run_cli(["open", "--print-url"], desk.env).stdout.strip()
    login_token = link.split("token=")[1]
    client = DeskClient(desk.url, token)

    seen: list[str] = []
    reply = client.create_thread("hello")
    seen += [json.dumps(reply.events)]
    for text in ("again [401]", "again [429]", "again [500]", "again [cut]"):
        seen.append(json.dumps(client.add_message(reply.thread_id, text).events))
    seen.append(
        json.dumps(
            client.simple(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "x"}],
                    },
                }
            ).events
        )
    )
    for request in (LIST, {"type": "threads.get_by_id", "params": {"thread_id": reply.thread_id}}):
        seen.append(client.http.post("/chatkit", json=request).text)
    seen.append(httpx.get(f"{desk.url}/health", timeout=60).text)
    with httpx.Client(timeout=60) as browser:
        signed_in = browser.get(link)
        seen += [signed_in.text, str(signed_in.headers), browser.get(f"{desk.url}/").text]
    seen.append(httpx.get(f"{desk.url}/nope?token={token}", timeout=60).text)
    seen.append(run_cli(["keys", "status"], desk.env).stdout)
    assert upstream.state.requests[-1].authorization == f"Bearer {key}", "the key was used"
    desk.stop()

    seen.append(desk.log())
    for path in data_dir.rglob("*"):
        if path.is_file():
            seen.append(path.read_bytes().decode("latin-1"))
    everything = "\n".join(seen)
    assert key not in everything
    assert key[3:] not in everything
    assert token not in everything
    assert login_token not in desk.log()


def test_binding_beyond_loopback_keeps_tokens_and_says_so(
    desk_factory: Callable[..., DeskProcess], user: str
) -> None:
    desk = desk_factory(CHATKIT_DESK_HOST="0.0.0.0")
    assert "tokens stay mandatory" in desk.log()
    assert post(desk, LIST).status_code == 401
    assert post(desk, LIST, **bearer(make_token(user))).status_code == 200
