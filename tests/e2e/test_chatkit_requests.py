"""Every ChatKit request type the store backs, paging, and bad input answered before a stream."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import client_for
from tests.support.desk_process import DeskProcess, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient, user_input


@pytest.fixture
def alice(openai_desk: DeskProcess, user: str) -> DeskClient:
    return client_for(openai_desk, user)


@pytest.fixture
def bob(openai_desk: DeskProcess, user: str) -> DeskClient:
    return client_for(openai_desk, user + "-bob")


def error_of(reply, status: int, code: str) -> str:
    assert reply.status == status, reply
    assert reply.events == [], "answered before any stream started"
    assert reply.body["error"]["code"] == code
    return reply.body["error"]["message"]


def test_threads_list_pages_newest_first(alice: DeskClient) -> None:
    ids = [alice.create_thread(f"thread {n}").thread_id for n in range(5)]

    first = alice.list_threads(limit=2).body
    assert [t["id"] for t in first["data"]] == ids[:-3:-1]
    assert first["has_more"] is True
    second = alice.list_threads(limit=2, after=first["after"]).body
    third = alice.list_threads(limit=2, after=second["after"]).body
    assert [t["id"] for t in second["data"] + third["data"]] == ids[2::-1]
    assert third["has_more"] is False
    assert [t["id"] for t in alice.list_threads(order="asc").body["data"]] == ids
    assert all(t["title"].startswith("thread ") for t in first["data"])


def test_items_list_pages_and_hides_nothing_visible(alice: DeskClient) -> None:
    thread_id = alice.create_thread("one").thread_id
    alice.add_message(thread_id, "two")

    newest = alice.list_items(thread_id, limit=3).body
    assert [i["type"] for i in newest["data"]] == [
        "assistant_message",
        "user_message",
        "assistant_message",
    ]
    assert newest["has_more"] is True
    rest = alice.list_items(thread_id, limit=3, after=newest["after"]).body
    assert [i["content"][0]["text"] for i in rest["data"]] == ["one"]
    assert rest["has_more"] is False


def test_get_by_id_returns_thread_with_items(alice: DeskClient) -> None:
    thread_id = alice.create_thread("hello").thread_id
    thread = alice.get_thread(thread_id).body
    assert thread["id"] == thread_id
    assert [i["type"] for i in thread["items"]["data"]] == ["user_message", "assistant_message"]


def test_rename_and_delete(alice: DeskClient) -> None:
    thread_id = alice.create_thread("hello").thread_id

    renamed = alice.chatkit(
        {"type": "threads.update", "params": {"thread_id": thread_id, "title": "Renamed"}}
    )
    assert renamed.body["title"] == "Renamed"
    assert alice.get_thread(thread_id).body["title"] == "Renamed"

    deleted = alice.chatkit({"type": "threads.delete", "params": {"thread_id": thread_id}})
    assert deleted.status == 200
    error_of(alice.get_thread(thread_id), 404, "thread_not_found")


def test_retry_after_item_replaces_the_answer(alice: DeskClient, upstream: FakeUpstream) -> None:
    first = alice.create_thread("try me")
    thread_id = first.thread_id
    user_item = first.of_type("thread.item.done")[0]["item"]

    retried = alice.chatkit(
        {
            "type": "threads.retry_after_item",
            "params": {"thread_id": thread_id, "item_id": user_item["id"]},
        }
    )

    assert retried.errors == []
    assert retried.assistant_text.startswith("You said: try me.")
    items = alice.get_thread(thread_id).body["items"]["data"]
    assert [i["type"] for i in items] == ["user_message", "assistant_message"]
    assert items[1]["id"] == retried.assistant_items[0]["id"] != first.assistant_items[0]["id"]


def test_feedback_is_accepted(alice: DeskClient) -> None:
    reply = alice.create_thread("rate me")
    answer_id = reply.assistant_items[0]["id"]
    response = alice.chatkit(
        {
            "type": "items.feedback",
            "params": {"thread_id": reply.thread_id, "item_ids": [answer_id], "kind": "positive"},
        }
    )
    assert response.status == 200


def test_user_message_is_committed_before_the_model_answers(
    alice: DeskClient, upstream: FakeUpstream
) -> None:
    reply = alice.create_thread("keep me [500]")
    assert reply.errors, "the model failed"
    items = alice.get_thread(reply.thread_id).body["items"]["data"]
    assert [i["content"][0]["text"] for i in items] == ["keep me [500]"]


# Bad input, answered with a 4xx JSON error before any stream starts.


def test_malformed_json(alice: DeskClient) -> None:
    response = alice.http.post(
        "/chatkit", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_body_that_is_not_an_object(alice: DeskClient) -> None:
    response = alice.http.post("/chatkit", json=[1, 2])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_unknown_request_type(alice: DeskClient) -> None:
    message = error_of(
        alice.chatkit({"type": "threads.explode", "params": {}}), 400, "unknown_request_type"
    )
    assert "'threads.explode'" in message and "threads.create" in message


def test_missing_type(alice: DeskClient) -> None:
    error_of(alice.chatkit({"params": {}}), 400, "invalid_request")


def test_missing_fields(alice: DeskClient) -> None:
    message = error_of(
        alice.chatkit({"type": "threads.create", "params": {"input": {"content": []}}}),
        400,
        "invalid_request",
    )
    assert "input.attachments" in message


def test_wrong_content_type(alice: DeskClient) -> None:
    response = alice.http.post(
        "/chatkit",
        content=b'{"type":"threads.list","params":{}}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("limit", [0, -1, 1000])
def test_bad_page_size(alice: DeskClient, limit: int) -> None:
    error_of(alice.list_threads(limit=limit), 400, "invalid_request")


def test_empty_title(alice: DeskClient) -> None:
    thread_id = alice.create_thread("hello").thread_id
    reply = alice.chatkit(
        {"type": "threads.update", "params": {"thread_id": thread_id, "title": " "}}
    )
    error_of(reply, 400, "invalid_request")


def test_unknown_cursor(alice: DeskClient) -> None:
    thread_id = alice.create_thread("hello").thread_id
    error_of(alice.list_items(thread_id, after="msg_nope"), 404, "item_not_found")


@pytest.mark.parametrize(
    "request_type",
    ["input.transcribe", "threads.sync_custom_action"],
)
def test_unsupported_features_say_so(alice: DeskClient, request_type: str) -> None:
    params = {
        "input.transcribe": {"audio_base64": "", "mime_type": "audio/webm"},
        "threads.sync_custom_action": {"thread_id": "thr_x", "action": {"type": "x"}},
    }[request_type]
    message = error_of(
        alice.chatkit({"type": request_type, "params": params}), 400, "unsupported_request"
    )
    assert "not supported" in message


def test_client_tool_output_without_a_pending_call(alice: DeskClient) -> None:
    thread_id = alice.create_thread("hello").thread_id
    reply = alice.chatkit(
        {"type": "threads.add_client_tool_output", "params": {"thread_id": thread_id, "result": 1}}
    )
    error_of(reply, 400, "invalid_request")


def test_retry_of_something_that_is_not_a_user_message(alice: DeskClient) -> None:
    reply = alice.create_thread("hello")
    answer_id = reply.assistant_items[0]["id"]
    retry = {
        "type": "threads.retry_after_item",
        "params": {"thread_id": reply.thread_id, "item_id": answer_id},
    }
    error_of(alice.chatkit(retry), 400, "invalid_request")


# Threads belong to their user: another's thread answers exactly like a missing one.


def bob_requests(thread_id: str, item_id: str) -> list[dict]:
    return [
        {"type": "threads.get_by_id", "params": {"thread_id": thread_id}},
        {"type": "items.list", "params": {"thread_id": thread_id}},
        {"type": "threads.update", "params": {"thread_id": thread_id, "title": "mine now"}},
        {"type": "threads.delete", "params": {"thread_id": thread_id}},
        {
            "type": "items.feedback",
            "params": {"thread_id": thread_id, "item_ids": [item_id], "kind": "negative"},
        },
        {
            "type": "threads.add_user_message",
            "params": {"thread_id": thread_id, "input": user_input("hi")},
        },
        {
            "type": "threads.retry_after_item",
            "params": {"thread_id": thread_id, "item_id": item_id},
        },
        {"type": "threads.add_client_tool_output", "params": {"thread_id": thread_id, "result": 1}},
    ]


def test_another_users_thread_is_indistinguishable_from_a_missing_one(
    alice: DeskClient, bob: DeskClient, upstream: FakeUpstream
) -> None:
    reply = alice.create_thread("private")
    thread_id, item_id = reply.thread_id, reply.assistant_items[0]["id"]
    calls_before = len(upstream.state.requests)

    for request in bob_requests(thread_id, item_id):
        as_bob = bob.chatkit(request)
        missing = bob.chatkit(_with_thread(request, "thr_" + "0" * 32))
        assert (as_bob.status, as_bob.body["error"]["code"]) == (404, "thread_not_found"), request
        assert as_bob.body["error"]["message"].replace(thread_id, "X") == missing.body["error"][
            "message"
        ].replace("thr_" + "0" * 32, "X")

    assert bob.list_threads().body["data"] == []
    assert len(upstream.state.requests) == calls_before, "no model call for another's thread"
    thread = alice.get_thread(thread_id).body
    assert thread["title"] == "private" and len(thread["items"]["data"]) == 2


def _with_thread(request: dict, thread_id: str) -> dict:
    return {**request, "params": {**request["params"], "thread_id": thread_id}}


# Authentication on the chat routes.


@pytest.mark.parametrize("path", ["/chatkit", "/api/chat"])
def test_chat_routes_need_a_token(openai_desk: DeskProcess, path: str) -> None:
    response = httpx.post(
        f"{openai_desk.url}{path}", json={"type": "threads.list", "params": {}}, timeout=60
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_missing"
    assert response.headers["www-authenticate"] == "Bearer"

    bad = httpx.post(
        f"{openai_desk.url}{path}",
        json={"type": "threads.list", "params": {}},
        headers={"Authorization": f"Bearer {make_token('x', secret='wrong-secret-' + 'x' * 40)}"},
        timeout=60,
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "token_invalid"


def test_health_is_open_and_has_no_secrets(openai_desk: DeskProcess) -> None:
    response = httpx.get(f"{openai_desk.url}/health", timeout=60)
    body = response.json()
    assert body == {
        "status": "ok",
        "app": "chatkit-desk",
        "ready": True,
        "version": body["version"],
        "provider": "openai",
        "model": "fake-gpt",
        "key_configured": True,
        "tools_in_use": [],
    }
    assert "sk-" not in response.text


def test_unknown_route_is_a_json_404(openai_desk: DeskProcess) -> None:
    response = httpx.get(f"{openai_desk.url}/nope", timeout=60)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
