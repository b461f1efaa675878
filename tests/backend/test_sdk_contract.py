"""Every private SDK part ChatKit Desk relies on, and every SDK behaviour it copies, one test each.

openai, openai-agents and openai-chatkit are pinned exactly (``pyproject.toml``). After an
upgrade, this file is the checklist: a test here fails with what moved and what to re-check,
instead of forty end-to-end tests failing for one reason. Each test exercises the hook as the
server uses it (a real stream from the fake provider, a real request through the ChatKit
server), so it fails when the hook stops being reached, not only when a name disappears.
``docs/architecture.md`` lists the same hooks beside the request path of one turn.

The hooks, by test number:

1. ``AsyncOpenAI._process_response_data`` (openai, private): ``chat/openai_client.py``
2. the turn's context variable reaching the run's task (agents): ``chat/server.py``
3. ``openai._utils._transform.async_transform`` (openai, private): ``chat/request_transform.py``
4. ``ChatKitServer._process_streaming`` / ``_process_non_streaming`` (chatkit, private)
5. ``ChatKitServer._process_streaming_impl`` (chatkit, private): ``chat/server.py``
6. ``agents.models.fake_id.FAKE_RESPONSES_ID`` (agents, not exported): ``chat/reply.py``
7. ``ThreadItemUpdatedEvent.model_construct`` without validation: ``chat/reply.py``
8. ``stream_agent_response``'s mapping, re-implemented for text: ``chat/reply.py``
9. the layout of the request and event unions: ``web/chatkit_requests.py``, ``chat/openai_client``
10. ``app.router.lifespan_context`` (Starlette): ``web/deferred_app.py``
11. openai's lazily imported resource modules: ``chat/warm_up.py``
12. ``ThreadItemConverter.assistant_message_to_input``: ``chat/history.py``
13. ``AsyncOpenAI._make_sse_decoder`` (openai, private): ``chat/openai_client.py``
14. ``ChatKitServer._serialize`` (chatkit, private), every answer's way out: ``chat/server.py``

The keyring backends' module names (``secrets.backend_warning``) are checked in
``test_secrets.py``.
"""

from __future__ import annotations

import json
import typing
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, OpenAIResponsesModel, Runner
from agents.models.fake_id import FAKE_RESPONSES_ID
from chatkit.agents import AgentContext, stream_agent_response
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ChatKitReq,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadsCreateReq,
    ThreadsGetByIdReq,
    ThreadsListReq,
)
from fastapi import FastAPI
from openai._utils import _transform as library_transform
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter, ValidationError

from backend.chat import request_transform
from backend.chat.history import PlainAssistantTextConverter
from backend.chat.openai_client import (
    _RESPONSE_EVENTS,
    DeskOpenAI,
    StreamEnding,
    current_stream_ending,
)
from backend.chat.reply import AssistantReply
from backend.chat.server import RUN_CONFIG
from backend.chat.turns import TurnRecord
from backend.chat.warm_up import CHAT_COMPLETIONS, RESPONSES
from backend.context import RequestContext
from backend.secrets import KeyCache
from backend.settings import LiveSettings
from backend.store import SQLiteStore
from backend.store.database import open_database
from backend.web import chatkit_requests
from backend.web.deferred_app import DeferredApp
from tests.support.contexts import context_for
from tests.support.fake_upstream import FakeUpstream
from tests.support.keyrings import MemoryKeyring

UPGRADE = "after an SDK upgrade: re-check"


class CountingOpenAI(DeskOpenAI):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events_seen = 0

    def _process_response_data(self, *, data: object, cast_to: Any, response: Any) -> Any:
        self.events_seen += 1
        return super()._process_response_data(data=data, cast_to=cast_to, response=response)


def client_for(upstream: FakeUpstream, client_class: type[DeskOpenAI] = DeskOpenAI) -> DeskOpenAI:
    return client_class(api_key="sk-contract-test", base_url=upstream.base_url, max_retries=0)


def agent_for(client: DeskOpenAI, responses: bool) -> Agent:
    model_class = OpenAIResponsesModel if responses else OpenAIChatCompletionsModel
    return Agent(
        name="contract",
        instructions="Be brief.",
        model=model_class(model="fake-gpt", openai_client=client),
        model_settings=ModelSettings(include_usage=True),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    database = open_database(tmp_path / "db.sqlite3")
    yield SQLiteStore(database)
    database.close()


# 1
@pytest.mark.parametrize("responses", [True, False], ids=["responses", "chat completions"])
async def test_openai_streams_hand_every_event_to_process_response_data(
    upstream: FakeUpstream, responses: bool
) -> None:
    client = client_for(upstream, CountingOpenAI)
    if responses:
        stream = await client.responses.create(model="fake-gpt", input="hello", stream=True)
    else:
        stream = await client.chat.completions.create(
            model="fake-gpt", messages=[{"role": "user", "content": "hello"}], stream=True
        )
    events = [event async for event in stream]
    await client.close()
    assert client.events_seen == len(events) > 3, (
        f"{UPGRADE} that openai's AsyncStream still builds each streamed event through "
        "AsyncOpenAI._process_response_data (openai/_streaming.py): DeskOpenAI overrides it to "
        "parse fast and to note how a stream ended (chat/openai_client.py)"
    )


# 2
@pytest.mark.parametrize("responses", [True, False], ids=["responses", "chat completions"])
async def test_the_agents_run_sees_the_turns_stream_ending(
    upstream: FakeUpstream, responses: bool
) -> None:
    client = client_for(upstream)
    ending = StreamEnding()
    token = current_stream_ending.set(ending)
    try:
        result = Runner.run_streamed(agent_for(client, responses), "hello", run_config=RUN_CONFIG)
    finally:
        current_stream_ending.reset(token)
    async for _ in result.stream_events():
        pass
    await client.close()
    assert ending.complete, (
        f"{UPGRADE} that Runner.run_streamed starts its task with a copy of the caller's "
        "context (contextvars), so the client sees current_stream_ending set by the turn "
        "(chat/server.py): without it every answer is reported as cut short"
    )


# 3
async def test_openai_resources_look_the_request_transform_up_when_they_send(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[object] = []

    async def counted(data: object, expected_type: object) -> object:
        seen.append(expected_type)
        return await request_transform.async_transform(data, expected_type)

    monkeypatch.setattr(library_transform, "async_transform", counted)
    client = client_for(upstream)
    stream = await client.responses.create(model="fake-gpt", input="hello", stream=True)
    async for _ in stream:
        pass
    await client.close()
    assert seen, (
        f"{UPGRADE} that openai's async resources reach openai._utils._transform."
        "async_transform through the module (async_maybe_transform): request_transform.install "
        "replaces it there, and would silently stop saving time"
    )
    assert {"alias", "format"} <= set(vars(library_transform.PropertyInfo(alias="a"))), (
        f"{UPGRADE} PropertyInfo's fields: request_transform.declares_transforms reads them"
    )


class Minimal(ChatKitServer[RequestContext]):
    """The SDK's server with nothing of ours, to watch how process() dispatches."""

    async def respond(self, thread: Any, input_user_message: Any, context: Any) -> Any:
        return
        yield


# 4
async def test_chatkit_process_is_a_parse_then_the_private_processors(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, context = Minimal(store), context_for("alice")
    reached: list[str] = []
    for name in ("_process_streaming", "_process_non_streaming"):
        original = getattr(ChatKitServer, name)

        def spy(self: Any, request: Any, ctx: Any, _name: str = name, _f: Any = original) -> Any:
            reached.append(_name)
            return _f(self, request, ctx)

        monkeypatch.setattr(Minimal, name, spy)

    listed = await server.process(ThreadsListReq(params={}).model_dump_json(), context)
    assert isinstance(listed, NonStreamingResult)
    created = await server.process(
        ThreadsCreateReq.model_validate(
            {"params": {"input": {"content": [], "attachments": [], "inference_options": {}}}}
        ).model_dump_json(),
        context,
    )
    assert isinstance(created, StreamingResult)
    assert b"thread.created" in b"".join([chunk async for chunk in created])
    assert reached == ["_process_non_streaming", "_process_streaming"], (
        f"{UPGRADE} ChatKitServer.process(): DeskChatKitServer.process_parsed does what it does "
        "minus the parse, by calling _process_streaming/_process_non_streaming (chat/server.py)"
    )


# 5
async def test_chatkit_streams_the_events_of_process_streaming_impl(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, context = Minimal(store), context_for("alice")
    events: list[str] = []
    original = ChatKitServer._process_streaming_impl

    async def spy(self: Any, request: Any, ctx: Any) -> AsyncIterator[Any]:
        async for event in original(self, request, ctx):
            events.append(event.type)
            yield event

    monkeypatch.setattr(Minimal, "_process_streaming_impl", spy)
    request = ThreadsCreateReq.model_validate(
        {"params": {"input": {"content": [], "attachments": [], "inference_options": {}}}}
    )
    chunks = [chunk async for chunk in server._process_streaming(request, context)]
    assert events and len(chunks) == len(events), (
        f"{UPGRADE} ChatKitServer._process_streaming: it must serialize exactly the events of "
        "_process_streaming_impl, which DeskChatKitServer.stream_events hands to /api/chat"
    )


# 6
async def test_chat_completions_messages_still_carry_the_placeholder_id(
    upstream: FakeUpstream,
) -> None:
    client = client_for(upstream)
    result = Runner.run_streamed(agent_for(client, False), "hello", run_config=RUN_CONFIG)
    ids = [
        event.data.item.id
        async for event in result.stream_events()
        if event.type == "raw_response_event" and event.data.type == "response.output_item.added"
    ]
    await client.close()
    assert ids == [FAKE_RESPONSES_ID], (
        f"{UPGRADE} the id the Agents SDK gives Chat Completions messages: AssistantReply "
        "replaces FAKE_RESPONSES_ID with a store id (chatkit-python #36); if it changed, "
        "Gemini replies would overwrite each other"
    )


# 7
def test_delta_events_built_without_validation_equal_validated_ones() -> None:
    constructed = ThreadItemUpdatedEvent.model_construct(
        type="thread.item.updated",
        item_id="msg_1",
        update=AssistantMessageContentPartTextDelta.model_construct(
            type="assistant_message.content_part.text_delta", content_index=0, delta="Hi"
        ),
    )
    validated = ThreadItemUpdatedEvent(
        item_id="msg_1", update=AssistantMessageContentPartTextDelta(content_index=0, delta="Hi")
    )
    assert constructed.model_dump_json() == validated.model_dump_json(), (
        f"{UPGRADE} the fields of ThreadItemUpdatedEvent and of a text delta: AssistantReply "
        "builds them with model_construct (no validation) on the hot path"
    )


# 8
async def test_our_reply_mapping_agrees_with_stream_agent_response(
    upstream: FakeUpstream, store: SQLiteStore
) -> None:
    context = context_for("alice")
    thread = ThreadMetadata(id="thr_contract", created_at=datetime.now())
    await store.save_thread(thread, context)

    async def run(mapping: str) -> list[tuple[str, str, str]]:
        client = client_for(upstream)
        result = Runner.run_streamed(agent_for(client, True), "hello", run_config=RUN_CONFIG)
        if mapping == "ours":
            reply = AssistantReply(thread.id, lambda: "msg_new", TurnRecord("openai", "m", "t"))
            events = reply.events(result)
        else:
            agent_context = AgentContext(thread=thread, store=store, request_context=context)
            events = stream_agent_response(agent_context, result)
        seen = [(e.type, _update_type(e), _text(e)) async for e in events]
        await client.close()
        return seen

    ours, sdk = await run("ours"), await run("sdk")
    assert sdk[-1][0] == "thread.item.done" and sdk[-1][2].startswith("You said: hello."), sdk
    assert ours == sdk, (
        f"{UPGRADE} chatkit.agents.stream_agent_response: AssistantReply re-implements its "
        "mapping of a text reply; a new event kind or field must be carried over"
    )


def _update_type(event: Any) -> str:
    return getattr(getattr(event, "update", None), "type", "")


def _text(event: Any) -> str:
    update = getattr(event, "update", None)
    if update is not None:
        return getattr(update, "delta", "") or getattr(getattr(update, "content", None), "text", "")
    item = getattr(event, "item", None)
    return "".join(part.text for part in getattr(item, "content", []) if hasattr(part, "text"))


# 9
def test_the_request_and_event_unions_are_laid_out_as_we_read_them() -> None:
    adapter = TypeAdapter[ChatKitReq](ChatKitReq)
    for name in chatkit_requests.KNOWN_REQUEST_TYPES:
        with pytest.raises(ValidationError) as caught:
            adapter.validate_python({"type": name})
        kinds = {error["type"] for error in caught.value.errors()}
        assert "union_tag_invalid" not in kinds, f"{UPGRADE} ChatKitReq's request types ({name})"
    members = typing.get_args(typing.get_args(ResponseStreamEvent)[0])
    assert set(_RESPONSE_EVENTS.values()) == set(members), (
        f"{UPGRADE} the layout of openai's ResponseStreamEvent union "
        "(chat/openai_client._variants_by_type)"
    )


# 10
async def test_the_deferred_app_runs_the_loaded_apps_lifespan(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    phases: list[str] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        phases.append("startup")
        yield
        phases.append("shutdown")

    app = DeferredApp(
        lambda: FastAPI(lifespan=lifespan), LiveSettings(tmp_path).current, KeyCache(tmp_path)
    )
    from tests.backend.web.test_deferred_app import Lifespan

    async with Lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await client.get("/nothing-here")
    assert phases == ["startup", "shutdown"], (
        f"{UPGRADE} Starlette's app.router.lifespan_context, which DeferredApp enters for the "
        "app it loaded (web/deferred_app.py)"
    )


# 11
def test_the_warm_up_finds_openais_lazy_resources() -> None:
    import importlib

    for module, name in (*RESPONSES.resources, *CHAT_COMPLETIONS.resources):
        assert hasattr(importlib.import_module(module), name), (
            f"{UPGRADE} where openai keeps {name}: chat/warm_up.py imports it at start-up"
        )


# 12
async def test_the_converter_still_asks_us_for_assistant_messages() -> None:
    message = AssistantMessageItem(
        id="msg_1",
        thread_id="t",
        created_at=datetime.now(),
        content=[AssistantMessageContent(text="Earlier answer")],
    )
    converted = await PlainAssistantTextConverter().to_agent_input([message])
    assert converted == [{"role": "assistant", "content": "Earlier answer"}], (
        f"{UPGRADE} ThreadItemConverter.to_agent_input still calls assistant_message_to_input, "
        "which chat/history.py overrides so the Chat Completions path accepts the history"
    )


# 13
async def test_openai_streams_decode_through_the_clients_sse_decoder(
    upstream: FakeUpstream,
) -> None:
    class CountingDecoders(DeskOpenAI):
        decoders = 0

        def _make_sse_decoder(self) -> Any:
            CountingDecoders.decoders += 1
            return super()._make_sse_decoder()

    client = client_for(upstream, CountingDecoders)
    stream = await client.responses.create(model="fake-gpt", input="hello", stream=True)
    events = [event async for event in stream]
    await client.close()
    assert events and CountingDecoders.decoders == 1, (
        f"{UPGRADE} that AsyncStream decodes server-sent events with client._make_sse_decoder()"
        ".aiter_bytes: DeskOpenAI's decoder relays each event before the next read (speed only)"
    )


# 14
async def test_every_chatkit_answer_leaves_through_serialize(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, context = Minimal(store), context_for("alice")
    serialized: list[str] = []
    original = ChatKitServer._serialize

    def spy(self: Any, obj: Any) -> bytes:
        serialized.append(type(obj).__name__)
        return original(self, obj)

    monkeypatch.setattr(Minimal, "_serialize", spy)
    created = await server.process(
        ThreadsCreateReq.model_validate(
            {"params": {"input": {"content": [], "attachments": [], "inference_options": {}}}}
        ).model_dump_json(),
        context,
    )
    assert isinstance(created, StreamingResult)
    chunks = [chunk async for chunk in created]
    thread_id = store_thread_id(chunks)
    await server.process(
        ThreadsGetByIdReq(params={"thread_id": thread_id}).model_dump_json(), context
    )
    assert "ThreadCreatedEvent" in serialized and serialized[-1] == "Thread", (
        f"{UPGRADE} that streamed events and non-streaming answers are all serialized by "
        "ChatKitServer._serialize: DeskChatKitServer re-signs image preview links there"
    )


def store_thread_id(chunks: list[bytes]) -> str:
    for chunk in chunks:
        for line in chunk.decode().splitlines():
            if line.startswith("data:"):
                event = json.loads(line[5:])
                if event.get("type") == "thread.created":
                    return event["thread"]["id"]
    raise AssertionError("no thread.created event")
