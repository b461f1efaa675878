"""A frontend holding a real, multi-turn, streamed conversation through the real server."""

from __future__ import annotations

from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient


def test_first_turn_streams_the_reply_token_by_token(client: DeskClient) -> None:
    reply = client.create_thread("hello there")

    assert reply.status == 200
    assert [e["type"] for e in reply.events[:3]] == [
        "thread.created",
        "thread.item.done",  # the user's message, stored before the model is called
        "stream_options",
    ]
    assert len(reply.text_deltas) > 5
    assert "".join(reply.text_deltas) == reply.assistant_text
    assert reply.assistant_text.startswith("You said: hello there. This is our first exchange.")
    assert reply.errors == []


def test_second_turn_sees_the_first_and_ids_are_distinct(client: DeskClient) -> None:
    first = client.create_thread("my name is Ada")
    thread_id = first.thread_id

    second = client.add_message(thread_id, "what did I say?")

    assert second.errors == []
    assert "Earlier you said: my name is Ada." in second.assistant_text
    assert "I have seen 1 earlier replies." in second.assistant_text
    third = client.add_message(thread_id, "and now?")
    assert "I have seen 2 earlier replies." in third.assistant_text

    items = client.get_thread(thread_id).body["items"]["data"]
    ids = [item["id"] for item in items]
    assert len(ids) == 6
    assert len(set(ids)) == 6
    assert not any("fake" in item_id for item_id in ids)
    assert [item["type"] for item in items] == ["user_message", "assistant_message"] * 3


def test_history_sent_upstream_has_plain_assistant_turns(
    client: DeskClient, upstream: FakeUpstream
) -> None:
    thread_id = client.create_thread("one").thread_id
    client.add_message(thread_id, "two")

    last = upstream.state.requests[-1].body
    sent = last.get("messages") or last.get("input")
    assistant_turns = [m for m in sent if m.get("role") == "assistant"]
    assert assistant_turns and all(isinstance(m["content"], str) for m in assistant_turns)
    if "messages" in last:  # Chat Completions: usage must be asked for, or it reads zero
        assert last["stream_options"] == {"include_usage": True}


def test_instructions_reach_the_model(client: DeskClient) -> None:
    reply = client.create_thread("[instructions]")
    assert reply.assistant_text.startswith("My instructions are: You are a helpful assistant.")


def test_thread_gets_a_title_from_the_first_message(client: DeskClient) -> None:
    reply = client.create_thread("Plan a trip to Lisbon in spring")
    thread = client.get_thread(reply.thread_id).body
    assert thread["title"] == "Plan a trip to Lisbon in spring"
