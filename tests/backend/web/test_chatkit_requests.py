"""parse and check: a ChatKit request is refused with a 4xx JSON error before any stream starts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    ChatKitReq,
    ClientToolCallItem,
    InferenceOptions,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

from backend.context import RequestContext
from backend.store import SQLiteStore
from backend.store.database import open_database
from backend.web.chatkit_requests import KNOWN_REQUEST_TYPES, check, parse
from backend.web.errors import ApiError
from tests.support.contexts import context_for

ALICE = context_for("alice", max_message_chars=20)
BOB = context_for("bob")
NOW = datetime(2026, 1, 1, 12, 0, 0)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = open_database(tmp_path / "db.sqlite3")
    yield db
    db.close()


@pytest.fixture
async def store(database: sqlite3.Connection) -> SQLiteStore:
    """Alice's thread with her message and the reply; Bob's thread."""
    store = SQLiteStore(database)
    await store.save_thread(ThreadMetadata(id="thr_alice", created_at=NOW), ALICE)
    await store.add_thread_item(
        "thr_alice",
        UserMessageItem(
            id="msg_question",
            thread_id="thr_alice",
            created_at=NOW,
            content=[UserMessageTextContent(text="hi")],
            inference_options=InferenceOptions(),
        ),
        ALICE,
    )
    await store.add_thread_item(
        "thr_alice",
        AssistantMessageItem(
            id="msg_answer",
            thread_id="thr_alice",
            created_at=NOW,
            content=[AssistantMessageContent(text="hello")],
        ),
        ALICE,
    )
    await store.save_thread(ThreadMetadata(id="thr_bob", created_at=NOW), BOB)
    return store


def body(request_type: str, **params: Any) -> bytes:
    return json.dumps({"type": request_type, "params": params}).encode()


def request(request_type: str, **params: Any) -> ChatKitReq:
    return parse(body(request_type, **params))


def user_input(text: str) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "attachments": [],
        "inference_options": {},
    }


def parse_error(raw: bytes) -> ApiError:
    with pytest.raises(ApiError) as refused:
        parse(raw)
    return refused.value


async def check_error(
    store: SQLiteStore, chatkit_request: ChatKitReq, context: RequestContext = ALICE
) -> ApiError:
    with pytest.raises(ApiError) as refused:
        await check(chatkit_request, store, context)
    return refused.value


# parse


def test_a_valid_request_is_parsed() -> None:
    parsed = request("threads.get_by_id", thread_id="thr_alice")
    assert parsed.type == "threads.get_by_id"
    assert parsed.params.thread_id == "thr_alice"


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"type": "threads.list"'])
def test_a_body_that_is_not_json_is_refused(raw: bytes) -> None:
    error = parse_error(raw)
    assert (error.status, error.code) == (400, "invalid_json")
    assert error.message.startswith("The request body is not valid JSON (")


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"threads.list"', b"null", b"3"])
def test_a_body_that_is_not_an_object_is_refused(raw: bytes) -> None:
    error = parse_error(raw)
    assert (error.status, error.code) == (400, "invalid_request")
    assert "object" in error.message


def test_a_body_that_is_not_an_object_gets_its_own_message() -> None:
    assert parse_error(b"[1, 2]").message == "The request body must be a JSON object."


def test_a_request_without_a_type_is_refused() -> None:
    error = parse_error(json.dumps({"params": {}}).encode())
    assert (error.status, error.code, error.message) == (
        400,
        "invalid_request",
        "The request has no 'type' field.",
    )


def test_an_unknown_request_type_is_refused_with_the_known_ones() -> None:
    error = parse_error(body("threads.explode"))
    assert (error.status, error.code) == (400, "unknown_request_type")
    assert error.message.startswith("Unknown request type 'threads.explode'; this server handles ")
    for known in ("threads.create", "threads.add_user_message", "items.list", "threads.update"):
        assert known in error.message
    assert error.message.endswith(f"{', '.join(KNOWN_REQUEST_TYPES)}.")


def test_the_known_request_types_are_every_chatkit_request() -> None:
    assert "threads.create" in KNOWN_REQUEST_TYPES
    assert "attachments.create" in KNOWN_REQUEST_TYPES
    assert KNOWN_REQUEST_TYPES == sorted(KNOWN_REQUEST_TYPES)
    assert len(KNOWN_REQUEST_TYPES) == len(set(KNOWN_REQUEST_TYPES)) == 16


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            body("threads.get_by_id"),
            "Invalid request: params.thread_id: Field required.",
        ),
        (
            body("threads.list", limit="many"),
            "Invalid request: params.limit: Input should be a valid integer, unable to parse "
            "string as an integer.",
        ),
        (
            body("threads.add_user_message", thread_id="thr_alice", input={"content": []}),
            "Invalid request: params.input.attachments: Field required.",
        ),
        (
            json.dumps({"type": "threads.list"}).encode(),
            "Invalid request: params: Field required.",
        ),
    ],
    ids=["missing field", "wrong type", "nested field", "no params"],
)
def test_a_bad_field_is_refused_naming_where_it_is(raw: bytes, message: str) -> None:
    error = parse_error(raw)
    assert (error.status, error.code, error.message) == (400, "invalid_request", message)


# check: sizes and ranges


async def test_a_message_over_the_limit_is_refused_with_413(store: SQLiteStore) -> None:
    error = await check_error(
        store,
        request("threads.add_user_message", thread_id="thr_alice", input=user_input("x" * 21)),
    )
    assert (error.status, error.code) == (413, "message_too_long")
    assert error.message == (
        "The message has 21 characters; the limit is 20 (CHATKIT_DESK_MAX_MESSAGE_CHARS)."
    )


async def test_a_new_thread_with_a_message_over_the_limit_is_refused(store: SQLiteStore) -> None:
    error = await check_error(store, request("threads.create", input=user_input("x" * 21)))
    assert (error.status, error.code) == (413, "message_too_long")


async def test_a_message_at_the_limit_passes(store: SQLiteStore) -> None:
    await check(
        request("threads.add_user_message", thread_id="thr_alice", input=user_input("x" * 20)),
        store,
        ALICE,
    )
    await check(request("threads.create", input=user_input("x" * 20)), store, ALICE)


@pytest.mark.parametrize("limit", [0, -1, 101])
@pytest.mark.parametrize("request_type", ["threads.list", "items.list"])
async def test_a_page_size_out_of_range_is_refused(
    store: SQLiteStore, request_type: str, limit: int
) -> None:
    error = await check_error(store, request(request_type, thread_id="thr_alice", limit=limit))
    assert (error.status, error.code, error.message) == (
        400,
        "invalid_request",
        "limit must be between 1 and 100.",
    )


@pytest.mark.parametrize("limit", [1, 100, None])
@pytest.mark.parametrize("request_type", ["threads.list", "items.list"])
async def test_a_page_size_in_range_passes(
    store: SQLiteStore, request_type: str, limit: int | None
) -> None:
    await check(request(request_type, thread_id="thr_alice", limit=limit), store, ALICE)


@pytest.mark.parametrize("title", ["", "   ", "x" * 201, " " + "x" * 201])
async def test_an_empty_or_too_long_title_is_refused(store: SQLiteStore, title: str) -> None:
    error = await check_error(store, request("threads.update", thread_id="thr_alice", title=title))
    assert (error.status, error.code, error.message) == (
        400,
        "invalid_request",
        "A title must be 1 to 200 characters.",
    )


@pytest.mark.parametrize("title", ["x", "x" * 200, "  Trip plans  "])
async def test_a_title_of_1_to_200_characters_passes(store: SQLiteStore, title: str) -> None:
    await check(request("threads.update", thread_id="thr_alice", title=title), store, ALICE)


# check: threads and items


THREAD_REQUESTS = {
    "threads.get_by_id": {},
    "threads.add_user_message": {"input": user_input("hi")},
    "threads.retry_after_item": {"item_id": "msg_question"},
    "threads.update": {"title": "Mine now"},
    "threads.delete": {},
    "items.list": {},
    "items.feedback": {"item_ids": ["msg_answer"], "kind": "positive"},
    "threads.add_client_tool_output": {"result": {}},
}


@pytest.mark.parametrize("request_type", THREAD_REQUESTS)
async def test_another_users_thread_answers_exactly_like_an_unknown_one(
    store: SQLiteStore, request_type: str
) -> None:
    params = THREAD_REQUESTS[request_type]
    bobs = await check_error(store, request(request_type, thread_id="thr_bob", **params))
    assert (bobs.status, bobs.code, bobs.message) == (
        404,
        "thread_not_found",
        "Thread 'thr_bob' was not found.",
    )

    await store.delete_thread("thr_bob", BOB)  # now it exists for nobody
    unknown = await check_error(store, request(request_type, thread_id="thr_bob", **params))
    assert (unknown.status, unknown.code, unknown.message) == (bobs.status, bobs.code, bobs.message)


@pytest.mark.parametrize("request_type", ["threads.get_by_id", "threads.delete", "items.list"])
async def test_the_owner_passes(store: SQLiteStore, request_type: str) -> None:
    await check(request(request_type, thread_id="thr_alice"), store, ALICE)
    await check(request(request_type, thread_id="thr_bob"), store, BOB)


async def test_an_unknown_after_item_is_refused_with_404(store: SQLiteStore) -> None:
    error = await check_error(
        store, request("items.list", thread_id="thr_alice", after="msg_nowhere")
    )
    assert (error.status, error.code, error.message) == (
        404,
        "item_not_found",
        "Item 'msg_nowhere' was not found in this thread.",
    )


async def test_a_known_after_item_passes(store: SQLiteStore) -> None:
    await check(request("items.list", thread_id="thr_alice", after="msg_question"), store, ALICE)


async def test_retrying_a_user_message_passes(store: SQLiteStore) -> None:
    await check(
        request("threads.retry_after_item", thread_id="thr_alice", item_id="msg_question"),
        store,
        ALICE,
    )


async def test_retrying_an_item_that_is_not_a_user_message_is_refused(store: SQLiteStore) -> None:
    error = await check_error(
        store, request("threads.retry_after_item", thread_id="thr_alice", item_id="msg_answer")
    )
    assert (error.status, error.code, error.message) == (
        400,
        "invalid_request",
        "Only a user message can be retried.",
    )


async def test_retrying_an_unknown_item_is_refused_with_404(store: SQLiteStore) -> None:
    error = await check_error(
        store, request("threads.retry_after_item", thread_id="thr_alice", item_id="msg_nowhere")
    )
    assert (error.status, error.code) == (404, "item_not_found")


async def test_structured_input_for_an_item_that_asked_nothing_is_refused(
    store: SQLiteStore,
) -> None:
    error = await check_error(
        store,
        request(
            "threads.add_structured_input",
            thread_id="thr_alice",
            item_id="msg_answer",
            input={},
        ),
    )
    assert (error.status, error.code, error.message) == (
        400,
        "invalid_request",
        "That item is not a question awaiting input.",
    )


async def test_tool_output_with_no_call_waiting_is_refused(store: SQLiteStore) -> None:
    error = await check_error(
        store, request("threads.add_client_tool_output", thread_id="thr_alice", result={})
    )
    assert (error.status, error.code, error.message) == (
        400,
        "invalid_request",
        "No client tool call is waiting for output in this thread.",
    )


async def test_tool_output_for_a_pending_call_passes(store: SQLiteStore) -> None:
    await store.add_thread_item(
        "thr_alice",
        ClientToolCallItem(
            id="ctc_1",
            thread_id="thr_alice",
            created_at=NOW,
            call_id="call_1",
            name="get_location",
            arguments={},
        ),
        ALICE,
    )
    await check(
        request("threads.add_client_tool_output", thread_id="thr_alice", result={}), store, ALICE
    )


# check: what this server does not do


UNSUPPORTED = {
    "input.transcribe": (
        {"audio_base64": "AAAA", "mime_type": "audio/webm"},
        "Dictation is not supported by this server.",
    ),
    "threads.sync_custom_action": (
        {"thread_id": "thr_alice", "action": {"type": "submit", "payload": {}}},
        "Widget actions are not supported by this server.",
    ),
}


@pytest.mark.parametrize("request_type", UNSUPPORTED)
async def test_unsupported_request_types_are_refused_with_400(
    store: SQLiteStore, request_type: str
) -> None:
    params, message = UNSUPPORTED[request_type]
    error = await check_error(store, request(request_type, **params))
    assert (error.status, error.code, error.message) == (400, "unsupported_request", message)


async def test_an_unsupported_request_on_another_users_thread_is_still_just_unsupported(
    store: SQLiteStore,
) -> None:
    params, message = UNSUPPORTED["threads.sync_custom_action"]
    error = await check_error(store, request("threads.sync_custom_action", **params), BOB)
    assert (error.status, error.code, error.message) == (400, "unsupported_request", message)


# threads.custom_action: the approval cards' Allow and Deny


def approval(item_id: str | None = "msg_answer", **payload: Any) -> ChatKitReq:
    action = {
        "type": payload.pop("type", "tool.approval"),
        "payload": {"approval_id": "apv_1", "decision": "allow", **payload},
    }
    params: dict[str, Any] = {"thread_id": "thr_alice", "action": action}
    if item_id is not None:
        params["item_id"] = item_id
    return request("threads.custom_action", **params)


@pytest.mark.parametrize(
    ("chatkit_request", "status", "code"),
    [
        (approval(type="submit"), 400, "unknown_action"),
        (approval(decision="maybe"), 400, "invalid_request"),
        (approval(approval_id=""), 400, "invalid_request"),
        (approval(item_id=None), 400, "invalid_request"),
        (approval(item_id="msg_unknown"), 404, "item_not_found"),
        (approval(), 400, "invalid_request"),  # the answer is not a card
    ],
)
async def test_an_action_that_cannot_be_an_approval_is_refused_before_the_stream(
    store: SQLiteStore, chatkit_request: ChatKitReq, status: int, code: str
) -> None:
    error = await check_error(store, chatkit_request)
    assert (error.status, error.code) == (status, code)


async def test_an_approval_in_another_users_thread_is_not_found(store: SQLiteStore) -> None:
    error = await check_error(store, approval(), BOB)
    assert (error.status, error.code) == (404, "thread_not_found")
