"""Logs, metrics and resilience, seen from outside the real server."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.desk_process import DeskProcess, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient, user_input


def log_lines(data_dir: Path) -> list[dict]:
    path = data_dir / "logs" / "chatkit-desk.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def observed(desk_factory: Callable[..., DeskProcess], tmp_path: Path) -> tuple[DeskProcess, Path]:
    data_dir = tmp_path / "observed"
    return desk_factory(data_dir), data_dir


def test_structured_log_has_requests_and_turns_but_no_text(
    observed: tuple[DeskProcess, Path], user: str
) -> None:
    desk, data_dir = observed
    client = DeskClient(desk.url, make_token(user))
    reply = client.create_thread("MESSAGE-TEXT-marker-4711")
    client.add_message(reply.thread_id, "again [401]")
    desk.stop()

    lines = log_lines(data_dir)
    requests = [
        line for line in lines if line["event"] == "request" and line["route"] == "/chatkit"
    ]
    assert requests and requests[0]["status"] == 200 and requests[0]["user"] == user
    assert len(requests[0]["request_id"]) == 16 and requests[0]["duration_ms"] > 0
    turns = [line for line in lines if line["event"] == "turn"]
    assert [t["outcome"] for t in turns] == ["ok", "auth"]
    first = turns[0]
    assert first["thread_id"] == reply.thread_id
    assert (first["provider"], first["model"]) == ("openai", "fake-gpt")
    assert first["first_token_ms"] > 0 and first["output_tokens"] > 0 and first["input_tokens"] > 0
    assert "MESSAGE-TEXT-marker" not in (data_dir / "logs" / "chatkit-desk.log").read_text()
    assert "MESSAGE-TEXT-marker" not in desk.log()


def test_metrics_need_a_token_and_count_what_happened(
    observed: tuple[DeskProcess, Path], user: str
) -> None:
    desk, _ = observed
    assert httpx.get(f"{desk.url}/metrics", timeout=60).status_code == 401
    client = DeskClient(desk.url, make_token(user))
    client.create_thread("hello")
    client.create_thread("bad [401]")

    text = httpx.get(
        f"{desk.url}/metrics", headers={"Authorization": f"Bearer {make_token(user)}"}, timeout=60
    ).text

    assert 'chatkit_desk_http_requests_total{route="/chatkit",status="200"} 2.0' in text
    assert "chatkit_desk_active_streams 0.0" in text
    assert (
        'chatkit_desk_time_to_first_token_seconds_count{model="fake-gpt",provider="openai"} 1.0'
        in text
    )
    assert (
        'chatkit_desk_stream_duration_seconds_count{model="fake-gpt",provider="openai"} 2.0' in text
    )
    assert 'chatkit_desk_tokens_total{direction="out",model="fake-gpt",provider="openai"}' in text
    assert 'chatkit_desk_upstream_errors_total{kind="auth",provider="openai"} 1.0' in text


def test_rate_limit_rejections_are_counted(
    desk_factory: Callable[..., DeskProcess], user: str
) -> None:
    desk = desk_factory(CHATKIT_DESK_RATE_LIMIT_PER_MINUTE="2")
    client = DeskClient(desk.url, make_token(user))
    statuses = [client.list_threads().status for _ in range(4)]
    assert statuses.count(429) == 2
    text = httpx.get(
        f"{desk.url}/metrics",
        headers={"Authorization": f"Bearer {make_token(user + '-ops')}"},
        timeout=60,
    ).text
    assert 'chatkit_desk_rate_limit_rejections_total{route="/chatkit"} 2.0' in text


def test_rate_limited_upstream_is_retried_honouring_retry_after(
    openai_desk: DeskProcess, upstream: FakeUpstream, user: str
) -> None:
    before = len(upstream.state.requests)
    DeskClient(openai_desk.url, make_token(user)).create_thread("busy? [429]")
    attempts = upstream.state.requests[before:]
    assert len(attempts) == 3, "the first try and two retries"
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(attempts)]
    assert all(gap >= 0.95 for gap in gaps), gaps


def test_no_retry_once_text_has_reached_the_user(
    openai_desk: DeskProcess, upstream: FakeUpstream, user: str
) -> None:
    before = len(upstream.state.requests)
    reply = DeskClient(openai_desk.url, make_token(user)).create_thread("story [cut]")
    assert reply.text_deltas and reply.errors
    assert len(upstream.state.requests) == before + 1


def test_first_token_timeout_setting(desk_factory: Callable[..., DeskProcess], user: str) -> None:
    desk = desk_factory(CHATKIT_DESK_FIRST_TOKEN_TIMEOUT="1", CHATKIT_DESK_UPSTREAM_TIMEOUT="30")
    error = DeskClient(desk.url, make_token(user)).create_thread("hi [hang-first]").errors[0]
    assert "did not answer within 1 seconds" in error["message"]


def test_whole_turn_timeout_keeps_what_arrived(
    desk_factory: Callable[..., DeskProcess], user: str
) -> None:
    desk = desk_factory(CHATKIT_DESK_TURN_TIMEOUT="1")
    reply = DeskClient(desk.url, make_token(user)).create_thread("long [slow]")
    assert "did not finish the answer within 1 seconds" in reply.errors[0]["message"]
    assert reply.assistant_text.startswith("slow0")


def test_provider_concurrency_cap_and_busy_error(
    desk_factory: Callable[..., DeskProcess], user: str
) -> None:
    desk = desk_factory(CHATKIT_DESK_PROVIDER_CONCURRENCY="1", CHATKIT_DESK_PROVIDER_QUEUE="0")
    started = threading.Event()

    def hold() -> None:
        body = {"type": "threads.create", "params": {"input": user_input("long [slow]")}}
        headers = {"Authorization": f"Bearer {make_token(user)}"}
        with httpx.stream(
            "POST", f"{desk.url}/chatkit", json=body, headers=headers, timeout=60
        ) as r:
            for line in r.iter_lines():
                if "text_delta" in line:
                    started.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert started.wait(15)
    error = DeskClient(desk.url, make_token(user)).create_thread("me too").errors[0]
    assert "busy talking to OpenAI" in error["message"]
    assert error["allow_retry"] is True
    holder.join()


def test_queued_turn_waits_for_a_free_slot(
    desk_factory: Callable[..., DeskProcess], user: str
) -> None:
    desk = desk_factory(CHATKIT_DESK_PROVIDER_CONCURRENCY="1", CHATKIT_DESK_PROVIDER_QUEUE="4")
    replies: list = []

    def chat(text: str) -> None:
        replies.append(DeskClient(desk.url, make_token(user)).create_thread(text))

    workers = [threading.Thread(target=chat, args=(f"q{n} [slow]",)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [r.errors for r in replies] == [[], []]
