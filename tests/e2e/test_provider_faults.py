"""Provider failures reach the user as messages they can act on, and the stream ends cleanly."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from backend.chat.reply import INCOMPLETE_NOTE
from tests.support.desk_process import DeskProcess, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient, user_input


def only_error(reply) -> dict:
    assert reply.status == 200
    assert len(reply.errors) == 1, reply.events
    after_error = reply.events[reply.events.index(reply.errors[0]) + 1 :]
    assert all(e["type"] == "thread.updated" for e in after_error), "the error ends the stream"
    return reply.errors[0]


def test_rejected_key_says_to_set_a_new_one(client: DeskClient) -> None:
    error = only_error(client.create_thread("hi [401]"))
    assert "API key was rejected — set a new one in Settings" in error["message"]
    assert error["allow_retry"] is False


def test_rate_limit_says_when_to_retry(client: DeskClient) -> None:
    error = only_error(client.create_thread("hi [429]"))
    assert "rate-limiting" in error["message"]
    assert "Try again in 1 seconds" in error["message"]
    assert error["allow_retry"] is True


def test_upstream_server_error_is_explained(client: DeskClient) -> None:
    error = only_error(client.create_thread("hi [500]"))
    assert "server error (500)" in error["message"]
    assert "on their side" in error["message"]


def test_cut_stream_keeps_the_partial_reply(client: DeskClient) -> None:
    reply = client.create_thread("tell me a story [cut]")
    error = only_error(reply)
    assert "Could not reach" in error["message"] or "ended the answer early" in error["message"]
    kept = reply.assistant_items[-1]
    parts = [part["text"] for part in kept["content"]]
    assert parts[0].startswith("You said:")
    assert parts[-1] == INCOMPLETE_NOTE

    items = client.get_thread(reply.thread_id).body["items"]["data"]
    assert [item["type"] for item in items] == ["user_message", "assistant_message"]
    assert items[1]["content"] == kept["content"]


def test_hung_provider_ends_in_a_timeout_message(client: DeskClient) -> None:
    started = time.monotonic()
    reply = client.create_thread("story please [hang]")
    elapsed = time.monotonic() - started

    error = only_error(reply)
    assert "did not answer within 3 seconds" in error["message"]
    assert elapsed < 20
    assert reply.assistant_text.startswith("You said:"), "what arrived before the hang is kept"
    items = client.get_thread(reply.thread_id).body["items"]["data"]
    assert items[-1]["type"] == "assistant_message"
    assert items[-1]["content"][-1]["text"] == INCOMPLETE_NOTE


def test_provider_silent_from_the_start_times_out(client: DeskClient) -> None:
    error = only_error(client.create_thread("anyone? [hang-first]"))
    assert "did not answer" in error["message"]


def test_wrong_key_in_settings(desk_factory: Callable[..., DeskProcess], user: str) -> None:
    desk = desk_factory(OPENAI_API_KEY="sk-bad-0000")
    client = DeskClient(desk.url, make_token(user))
    error = only_error(client.create_thread("hello"))
    assert error["message"].startswith("The OpenAI API key was rejected")


def test_gemini_wrong_key_names_gemini(desk_factory: Callable[..., DeskProcess], user: str) -> None:
    desk = desk_factory(CHATKIT_DESK_PROVIDER="gemini", GEMINI_API_KEY="sk-bad-gemini")
    client = DeskClient(desk.url, make_token(user))
    error = only_error(client.create_thread("hello"))
    assert error["message"].startswith("The Gemini API key was rejected")


def test_no_key_configured_answers_how_to_add_one(
    desk_factory: Callable[..., DeskProcess], user: str, upstream: FakeUpstream
) -> None:
    desk = desk_factory(OPENAI_API_KEY="")
    assert httpx.get(f"{desk.url}/health", timeout=60).json()["key_configured"] is False
    before = len(upstream.state.requests)

    reply = DeskClient(desk.url, make_token(user)).create_thread("hello")

    error = only_error(reply)
    assert "No OpenAI API key is configured" in error["message"]
    assert "chatkit-desk keys set openai" in error["message"]
    assert len(upstream.state.requests) == before, "no model call without a key"


def test_unreachable_provider(desk_factory: Callable[..., DeskProcess], user: str) -> None:
    from tests.support.desk_process import free_port

    desk = desk_factory(CHATKIT_DESK_OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1")
    error = only_error(DeskClient(desk.url, make_token(user)).create_thread("hello"))
    assert "Could not reach OpenAI" in error["message"]
    assert error["allow_retry"] is True


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_client_going_away_cancels_the_upstream_request(
    provider: str, request: pytest.FixtureRequest, upstream: FakeUpstream, user: str
) -> None:
    desk: DeskProcess = request.getfixturevalue(f"{provider}_desk")
    abandoned_before = upstream.state.streams_abandoned
    body = {"type": "threads.create", "params": {"input": user_input("long one [slow]")}}
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    with httpx.stream(
        "POST", f"{desk.url}/chatkit", json=body, headers=headers, timeout=60
    ) as response:
        for line in response.iter_lines():
            if "text_delta" in line:
                break  # the user closes the tab mid-answer

    deadline = time.monotonic() + 5
    while upstream.state.streams_abandoned == abandoned_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.state.streams_abandoned == abandoned_before + 1

    # What had arrived is kept, and the next turn is not confused by the cut-off one.
    client = DeskClient(desk.url, make_token(user))
    thread = client.list_threads().body["data"][0]
    items = client.list_items(thread["id"], order="asc").body["data"]
    assert items[0]["type"] == "user_message"
    assert items[-1]["type"] == "assistant_message"
    assert items[-1]["content"][0]["text"].startswith("slow0")
    follow_up = client.add_message(thread["id"], "still there?")
    assert follow_up.errors == []
    assert "Earlier you said: long one [slow]." in follow_up.assistant_text


def test_truncated_answer_is_kept_and_marked_incomplete(
    client: DeskClient, provider_desk: DeskProcess, upstream: FakeUpstream
) -> None:
    import sqlite3

    reply = client.create_thread("cut me off [truncate]")

    error = only_error(reply)
    assert "ended the answer early; what arrived is kept" in error["message"]
    assert error["allow_retry"] is True
    # The answer as the UI last gets it (done, or replaced if it had been sent whole already).
    kept = [
        event["item"]
        for event in reply.events
        if event["type"] in ("thread.item.done", "thread.item.replaced")
        and event["item"]["type"] == "assistant_message"
    ][-1]
    parts = [part["text"] for part in kept["content"]]
    assert parts[0].startswith("You said: cut me off")
    assert parts[-1] == INCOMPLETE_NOTE

    # After a reload the answer still says it is incomplete, and the store flags it.
    stored = client.list_items(reply.thread_id, order="asc").body["data"]
    assert [item["type"] for item in stored] == ["user_message", "assistant_message"]
    assert [part["text"] for part in stored[-1]["content"]] == parts
    database = Path(provider_desk.env["CHATKIT_DESK_DATA_DIR"]) / "chatkit-desk.sqlite3"
    with sqlite3.connect(database) as db:
        flags = db.execute("SELECT incomplete FROM items WHERE id = ?", (kept["id"],)).fetchall()
    assert flags == [(1,)]

    # The next turn works, and the model is told its last answer did not finish.
    follow_up = client.add_message(reply.thread_id, "please go on")
    assert follow_up.errors == []
    assert "I have seen 1 earlier replies" in follow_up.assistant_text
    assert INCOMPLETE_NOTE.strip() in json.dumps(upstream.state.requests[-1].body)
