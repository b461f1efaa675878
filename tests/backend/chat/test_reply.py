"""AssistantReply: the Agents SDK's raw Responses events become ChatKit events for one reply."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from agents.models.fake_id import FAKE_RESPONSES_ID
from agents.stream_events import RawResponsesStreamEvent
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartAdded,
    AssistantMessageContentPartDone,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadStreamEvent,
)
from openai.types.responses import (
    ResponseContentPartAddedEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)

from backend.chat.reply import INCOMPLETE_NOTE, AssistantReply, marked_incomplete
from backend.chat.turns import TurnRecord

THREAD = "thr_1"
_sequence = itertools.count()


def _message_item(item_id: str, texts: tuple[str, ...], status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": []} for text in texts],
    }


def item_added(item_id: str) -> RawResponsesStreamEvent:
    return RawResponsesStreamEvent(
        data=ResponseOutputItemAddedEvent.model_validate(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "sequence_number": next(_sequence),
                "item": _message_item(item_id, (), "in_progress"),
            }
        )
    )


def part_added(item_id: str, index: int = 0, part_type: str = "output_text") -> Any:
    part = (
        {"type": "output_text", "text": "", "annotations": []}
        if part_type == "output_text"
        else {"type": "refusal", "refusal": ""}
    )
    return RawResponsesStreamEvent(
        data=ResponseContentPartAddedEvent.model_validate(
            {
                "type": "response.content_part.added",
                "item_id": item_id,
                "output_index": 0,
                "content_index": index,
                "sequence_number": next(_sequence),
                "part": part,
            }
        )
    )


def text_delta(item_id: str, text: str, index: int = 0) -> RawResponsesStreamEvent:
    return RawResponsesStreamEvent(
        data=ResponseTextDeltaEvent.model_validate(
            {
                "type": "response.output_text.delta",
                "item_id": item_id,
                "output_index": 0,
                "content_index": index,
                "sequence_number": next(_sequence),
                "delta": text,
                "logprobs": [],
            }
        )
    )


def text_done(item_id: str, text: str, index: int = 0) -> RawResponsesStreamEvent:
    return RawResponsesStreamEvent(
        data=ResponseTextDoneEvent.model_validate(
            {
                "type": "response.output_text.done",
                "item_id": item_id,
                "output_index": 0,
                "content_index": index,
                "sequence_number": next(_sequence),
                "text": text,
                "logprobs": [],
            }
        )
    )


def item_done(item_id: str, *texts: str) -> RawResponsesStreamEvent:
    return RawResponsesStreamEvent(
        data=ResponseOutputItemDoneEvent.model_validate(
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "sequence_number": next(_sequence),
                "item": _message_item(item_id, texts, "completed"),
            }
        )
    )


def reasoning(kind: type[ResponseOutputItemAddedEvent | ResponseOutputItemDoneEvent]) -> Any:
    event_type = (
        "response.output_item.added"
        if kind is ResponseOutputItemAddedEvent
        else "response.output_item.done"
    )
    return RawResponsesStreamEvent(
        data=kind.model_validate(
            {
                "type": event_type,
                "output_index": 0,
                "sequence_number": next(_sequence),
                "item": {"id": "rs_1", "type": "reasoning", "summary": []},
            }
        )
    )


def whole_message(item_id: str, *chunks: str) -> list[Any]:
    text = "".join(chunks)
    return [
        item_added(item_id),
        part_added(item_id),
        *(text_delta(item_id, chunk) for chunk in chunks),
        text_done(item_id, text),
        item_done(item_id, text),
    ]


class FakeRun:
    """What ``AssistantReply.events`` reads of a ``RunResultStreaming``."""

    def __init__(self, *events: Any) -> None:
        self._events = events

    async def stream_events(self) -> AsyncIterator[Any]:
        for event in self._events:
            yield event


def numbered_ids() -> Callable[[str], str]:
    counter = itertools.count(1)
    return lambda kind: f"msg_new{next(counter)}"


def no_new_ids(kind: str) -> str:
    raise AssertionError("a real upstream id needs no new store id")


def turn() -> TurnRecord:
    return TurnRecord(provider="openai", model="gpt-5-mini", thread_id=THREAD)


def new_reply(
    ids: Callable[[str], str] | None = None, record: TurnRecord | None = None
) -> AssistantReply:
    return AssistantReply(THREAD, ids or numbered_ids(), record or turn())


async def all_events(reply: AssistantReply, *events: Any) -> list[ThreadStreamEvent]:
    return [event async for event in reply.events(FakeRun(*events))]


def item_id_of(event: ThreadStreamEvent) -> str:
    if isinstance(event, ThreadItemUpdatedEvent):
        return event.item_id
    assert isinstance(event, ThreadItemAddedEvent | ThreadItemDoneEvent)
    return event.item.id


async def test_a_streamed_message_becomes_chatkit_events() -> None:
    events = await all_events(new_reply(no_new_ids), *whole_message("msg_up", "Hel", "lo"))

    added, part, first, second, text_finished, finished = events
    assert isinstance(added, ThreadItemAddedEvent)
    assert isinstance(added.item, AssistantMessageItem)
    assert (added.item.id, added.item.thread_id, added.item.content) == ("msg_up", THREAD, [])

    assert isinstance(part, ThreadItemUpdatedEvent)
    assert part.item_id == "msg_up"
    assert part.update == AssistantMessageContentPartAdded(
        content_index=0, content=AssistantMessageContent(text="")
    )

    for event, chunk in ((first, "Hel"), (second, "lo")):
        assert isinstance(event, ThreadItemUpdatedEvent)
        assert event.item_id == "msg_up"
        assert isinstance(event.update, AssistantMessageContentPartTextDelta)
        assert (event.update.content_index, event.update.delta) == (0, chunk)
        # Built without validation for speed: it must still serialise like a validated one.
        assert event.model_dump(mode="json") == ThreadItemUpdatedEvent(
            item_id="msg_up",
            update=AssistantMessageContentPartTextDelta(content_index=0, delta=chunk),
        ).model_dump(mode="json")

    assert isinstance(text_finished, ThreadItemUpdatedEvent)
    assert text_finished.update == AssistantMessageContentPartDone(
        content_index=0, content=AssistantMessageContent(text="Hello")
    )

    assert isinstance(finished, ThreadItemDoneEvent)
    assert isinstance(finished.item, AssistantMessageItem)
    assert finished.item.id == "msg_up"
    assert [part.text for part in finished.item.content] == ["Hello"]


async def test_output_that_is_not_assistant_text_is_not_shown() -> None:
    events = await all_events(
        new_reply(no_new_ids),
        SimpleNamespace(type="run_item_stream_event", name="message_output_created", item=None),
        SimpleNamespace(type="agent_updated_stream_event"),
        reasoning(ResponseOutputItemAddedEvent),
        reasoning(ResponseOutputItemDoneEvent),
        part_added("msg_up", part_type="refusal"),
    )
    assert events == []


async def test_a_real_upstream_id_is_kept() -> None:
    events = await all_events(new_reply(no_new_ids), *whole_message("msg_upstream", "Hi"))
    assert {item_id_of(event) for event in events} == {"msg_upstream"}


async def test_each_chat_completions_message_gets_a_fresh_store_id() -> None:
    first = whole_message(FAKE_RESPONSES_ID, "One")
    second = whole_message(FAKE_RESPONSES_ID, "Two")
    events = await all_events(new_reply(numbered_ids()), *first, *second)

    ids = [item_id_of(event) for event in events]
    assert ids == ["msg_new1"] * len(first) + ["msg_new2"] * len(second)
    assert FAKE_RESPONSES_ID not in ids


async def test_a_message_after_a_real_one_keeps_its_own_id() -> None:
    events = await all_events(
        new_reply(numbered_ids()),
        *whole_message("msg_real", "One"),
        *whole_message(FAKE_RESPONSES_ID, "Two"),
    )
    assert [item_id_of(event) for event in events] == ["msg_real"] * 5 + ["msg_new1"] * 5


async def test_there_is_no_partial_reply_before_any_text() -> None:
    reply = new_reply()
    stream = reply.events(FakeRun(item_added(FAKE_RESPONSES_ID), part_added(FAKE_RESPONSES_ID)))
    assert reply.partial() is None
    await anext(stream)
    assert reply.partial() is None  # the message is announced, with no text yet
    await anext(stream)
    assert reply.partial() is None


async def test_a_reply_of_only_whitespace_so_far_is_not_kept() -> None:
    reply = new_reply()
    await all_events(reply, item_added("msg_up"), text_delta("msg_up", " \n "))
    assert reply.partial() is None


async def test_the_partial_reply_has_the_text_received_so_far() -> None:
    reply = new_reply()
    stream = reply.events(
        FakeRun(
            item_added(FAKE_RESPONSES_ID),
            text_delta(FAKE_RESPONSES_ID, "Hel"),
            text_delta(FAKE_RESPONSES_ID, "lo"),
        )
    )
    await anext(stream)
    await anext(stream)
    partial = reply.partial()
    assert partial is not None
    assert (partial.id, partial.thread_id) == ("msg_new1", THREAD)
    assert [part.text for part in partial.content] == ["Hel"]

    await anext(stream)
    partial = reply.partial()
    assert partial is not None
    assert [part.text for part in partial.content] == ["Hello"]


async def test_the_partial_reply_keeps_each_content_part() -> None:
    reply = new_reply()
    await all_events(
        reply,
        item_added("msg_up"),
        text_delta("msg_up", "First ", 0),
        text_delta("msg_up", "Second", 1),
        text_delta("msg_up", "part", 0),
    )
    partial = reply.partial()
    assert partial is not None
    assert [part.text for part in partial.content] == ["First part", "Second"]


async def test_a_content_part_with_no_text_yet_is_kept_empty_in_the_partial_reply() -> None:
    reply = new_reply()
    await all_events(
        reply, item_added("msg_up"), text_delta("msg_up", "A", 0), text_delta("msg_up", "C", 2)
    )
    partial = reply.partial()
    assert partial is not None
    assert [part.text for part in partial.content] == ["A", "", "C"]


async def test_a_finished_message_is_the_last_message_and_no_longer_partial() -> None:
    reply = new_reply()
    assert reply.last_message is None
    await all_events(reply, *whole_message(FAKE_RESPONSES_ID, "Hel", "lo"))
    assert reply.partial() is None
    assert reply.last_message is not None
    assert reply.last_message.id == "msg_new1"
    assert [part.text for part in reply.last_message.content] == ["Hello"]


async def test_a_second_message_starts_its_own_partial_reply() -> None:
    reply = new_reply()
    await all_events(
        reply,
        *whole_message(FAKE_RESPONSES_ID, "One"),
        item_added(FAKE_RESPONSES_ID),
        text_delta(FAKE_RESPONSES_ID, "Tw"),
    )
    partial = reply.partial()
    assert partial is not None
    assert partial.id == "msg_new2"
    assert [part.text for part in partial.content] == ["Tw"]
    assert reply.last_message is not None and reply.last_message.id == "msg_new1"


async def test_the_first_token_time_is_taken_at_the_first_text() -> None:
    record = turn()
    reply = new_reply(record=record)
    stream = reply.events(
        FakeRun(
            item_added("msg_up"),
            part_added("msg_up"),
            text_delta("msg_up", "Hel"),
            text_delta("msg_up", "lo"),
        )
    )
    await anext(stream)
    await anext(stream)
    assert record.first_token_seconds is None

    await anext(stream)
    first = record.first_token_seconds
    assert first is not None and first >= 0

    await anext(stream)
    assert record.first_token_seconds == first


async def test_a_run_with_no_text_takes_no_first_token_time() -> None:
    record = turn()
    await all_events(new_reply(record=record), item_added("msg_up"), item_done("msg_up"))
    assert record.first_token_seconds is None


def test_a_message_marked_incomplete_ends_with_the_note() -> None:
    message = AssistantMessageItem(
        id="msg_1",
        thread_id=THREAD,
        created_at=datetime(2026, 1, 1),
        content=[AssistantMessageContent(text="Hel"), AssistantMessageContent(text="lo")],
    )
    marked = marked_incomplete(message)
    assert [part.text for part in marked.content] == ["Hel", "lo", INCOMPLETE_NOTE]
    assert (marked.id, marked.thread_id, marked.created_at) == (
        message.id,
        message.thread_id,
        message.created_at,
    )
    assert len(message.content) == 2  # the original is left as it was
    assert "incomplete" in INCOMPLETE_NOTE and "cut short" in INCOMPLETE_NOTE


@pytest.mark.parametrize("upstream_id", ["msg_up", FAKE_RESPONSES_ID])
async def test_a_message_cut_short_keeps_its_id_when_marked_incomplete(upstream_id: str) -> None:
    reply = new_reply()
    events = await all_events(reply, item_added(upstream_id), text_delta(upstream_id, "Hel"))
    partial = reply.partial()
    assert partial is not None
    marked = marked_incomplete(partial)
    assert marked.id == item_id_of(events[0])
    assert [part.text for part in marked.content] == ["Hel", INCOMPLETE_NOTE]


async def test_a_refusal_is_kept_as_the_answers_text() -> None:
    refused = RawResponsesStreamEvent(
        data=ResponseOutputItemDoneEvent.model_validate(
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "sequence_number": next(_sequence),
                "item": {
                    "id": "msg_no",
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "refusal", "refusal": "I can't help with that."}],
                },
            }
        )
    )
    events = await all_events(new_reply(no_new_ids), item_added("msg_no"), refused)
    assert isinstance(events[-1], ThreadItemDoneEvent)
    assert [part.text for part in events[-1].item.content] == ["I can't help with that."]
