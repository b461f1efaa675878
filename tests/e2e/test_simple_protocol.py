"""``POST /api/chat``: the seed document's simple protocol, on the same threads as ChatKit."""

from __future__ import annotations

import pytest

from backend.chat.reply import INCOMPLETE_NOTE
from tests.support.sse_client import DeskClient


def message(text: str, conversation_id: str | None = None) -> dict:
    event = {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        },
    }
    if conversation_id:
        event["conversation_id"] = conversation_id
    return event


def test_streams_deltas_then_the_item_then_done(client: DeskClient) -> None:
    reply = client.simple(message("hello simple"))

    assert reply.status == 200
    kinds = [e["type"] for e in reply.events]
    assert kinds[-2:] == ["conversation.item.created", "response.done"]
    assert set(kinds[:-2]) == {"response.delta"}
    deltas = [e["data"] for e in reply.of_type("response.delta")]
    assert all(d["done"] is False for d in deltas)
    text = "".join(d["content"] for d in deltas)
    item = reply.of_type("conversation.item.created")[0]["item"]
    assert item["type"] == "message" and item["role"] == "assistant"
    assert item["content"] == [{"type": "output_text", "text": text}]
    assert text.startswith("You said: hello simple.")
    assert reply.of_type("response.done")[0]["data"]["conversation_id"].startswith("thr_")


def test_continues_a_conversation_that_chatkit_also_sees(client: DeskClient) -> None:
    first = client.simple(message("remember 42"))
    conversation_id = first.of_type("response.done")[0]["data"]["conversation_id"]

    second = client.simple(message("what was it?", conversation_id))

    assert "Earlier you said: remember 42." in "".join(
        e["data"]["content"] for e in second.of_type("response.delta")
    )
    assert second.of_type("response.done")[0]["data"]["conversation_id"] == conversation_id
    items = client.get_thread(conversation_id).body["items"]["data"]
    assert len(items) == 4
    assert client.list_threads().body["data"][0]["id"] == conversation_id


def test_a_truncated_answer_comes_last_with_the_incomplete_note(client: DeskClient) -> None:
    reply = client.simple(message("cut me off [truncate]"))

    assert "ended the answer early" in reply.of_type("response.error")[0]["data"]["message"]
    last = reply.of_type("conversation.item.created")[-1]["item"]
    parts = [part["text"] for part in last["content"]]
    assert parts[0].startswith("You said: cut me off")
    assert parts[-1] == INCOMPLETE_NOTE


def test_provider_failure_is_a_response_error(client: DeskClient) -> None:
    reply = client.simple(message("hi [401]"))
    error = reply.of_type("response.error")[0]["data"]
    assert "API key was rejected" in error["message"]
    assert error["allow_retry"] is False
    assert reply.events[-1]["type"] == "response.done"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"type": "conversation.item.delete"}, 400, "unknown_request_type"),
        ({"type": "conversation.item.create"}, 400, "invalid_request"),
        (
            {**message("x"), "item": {"type": "message", "role": "assistant", "content": []}},
            400,
            "invalid_request",
        ),
        (message(""), 400, "invalid_request"),
        (message("x", "thr_missing"), 404, "thread_not_found"),
    ],
)
def test_bad_requests(client: DeskClient, body: dict, status: int, code: str) -> None:
    reply = client.simple(body)
    assert reply.status == status
    assert reply.body["error"]["code"] == code


def test_malformed_json_and_content_type(client: DeskClient) -> None:
    response = client.http.post(
        "/api/chat", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json")
    response = client.http.post("/api/chat", content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
