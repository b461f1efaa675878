"""Turns the Agents SDK's stream into ChatKit events for one streamed text reply.

This does for our text-only agent what ``chatkit.agents.stream_agent_response`` does for any
agent, at a fraction of the cost per token: that one merges the run's events with a queue of
widget/workflow events through two new asyncio tasks *per event*, which our agent never uses.
It also fixes what the Chat Completions path gets wrong and keeps what a failure would lose:

* every Chat Completions message is named ``__fake_id__`` by the Agents SDK (chatkit-python
  #36): the frontend would overwrite earlier replies and the store would key them together, so
  each such message gets a fresh store id here;
* the text received so far is kept, so a reply cut off by an upstream failure can be saved as
  far as it got — with a note that it is incomplete (``marked_incomplete``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

from agents import RunResultStreaming
from agents.models.fake_id import FAKE_RESPONSES_ID
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

from backend.chat.turns import TurnRecord

INCOMPLETE_NOTE = "\n\n*(This answer is incomplete: it was cut short before the end.)*"
"""The last part of an answer that stopped early.

ChatKit's items have no status for this, so the note is part of the answer itself: every ChatKit
UI shows it, live and after a reload, and the model, reading the thread back, knows that its
answer did not finish.
"""


def marked_incomplete(message: AssistantMessageItem) -> AssistantMessageItem:
    note = AssistantMessageContent(text=INCOMPLETE_NOTE)
    return message.model_copy(update={"content": [*message.content, note]})


class AssistantReply:
    def __init__(self, thread_id: str, new_message_id: Callable[[], str], turn: TurnRecord) -> None:
        self._thread_id = thread_id
        self._new_message_id = new_message_id
        self._turn = turn
        self._ids: dict[str, str] = {}
        self._pending: AssistantMessageItem | None = None
        self.last_message: AssistantMessageItem | None = None
        """The last assistant message that was completed."""
        self._chunks: dict[int, list[str]] = {}

    def _store_id(self, upstream_id: str, new: bool = False) -> str:
        if upstream_id != FAKE_RESPONSES_ID:
            return upstream_id
        if new or upstream_id not in self._ids:
            self._ids[upstream_id] = self._new_message_id()
        return self._ids[upstream_id]

    async def events(self, result: RunResultStreaming) -> AsyncIterator[ThreadStreamEvent]:
        """The ChatKit events of the run's assistant message(s); other output is not shown."""
        async for run_event in result.stream_events():
            if run_event.type != "raw_response_event":
                continue
            event = run_event.data
            kind = event.type
            if kind == "response.output_text.delta":
                self._chunks.setdefault(event.content_index, []).append(event.delta)
                self._turn.first_token()
                yield ThreadItemUpdatedEvent.model_construct(
                    type="thread.item.updated",
                    item_id=self._store_id(event.item_id),
                    update=AssistantMessageContentPartTextDelta.model_construct(
                        type="assistant_message.content_part.text_delta",
                        content_index=event.content_index,
                        delta=event.delta,
                    ),
                )
            elif kind == "response.content_part.added" and event.part.type == "output_text":
                yield ThreadItemUpdatedEvent(
                    item_id=self._store_id(event.item_id),
                    update=AssistantMessageContentPartAdded(
                        content_index=event.content_index,
                        content=AssistantMessageContent(text=event.part.text),
                    ),
                )
            elif kind == "response.output_text.done":
                yield ThreadItemUpdatedEvent(
                    item_id=self._store_id(event.item_id),
                    update=AssistantMessageContentPartDone(
                        content_index=event.content_index,
                        content=AssistantMessageContent(text=event.text),
                    ),
                )
            elif kind == "response.output_item.added" and event.item.type == "message":
                item = self._message(event.item, self._store_id(event.item.id, new=True))
                self._pending, self._chunks = item, {}
                yield ThreadItemAddedEvent(item=item)
            elif kind == "response.output_item.done" and event.item.type == "message":
                self._pending = None
                message = self._message(event.item, self._store_id(event.item.id))
                self.last_message = message
                yield ThreadItemDoneEvent(item=message)

    def _message(self, output: object, item_id: str) -> AssistantMessageItem:
        # A refusal is the model's answer too: shown as its text, as the SDK's mapping does.
        content = [
            AssistantMessageContent(text=part.text if part.type == "output_text" else part.refusal)
            for part in getattr(output, "content", [])
            if getattr(part, "type", None) in ("output_text", "refusal")
        ]
        return AssistantMessageItem(
            id=item_id, thread_id=self._thread_id, created_at=datetime.now(), content=content
        )

    def partial(self) -> AssistantMessageItem | None:
        """The reply in progress with the text received so far, or ``None`` if there is none."""
        if self._pending is None or not any("".join(c).strip() for c in self._chunks.values()):
            return None
        content = [
            AssistantMessageContent(text="".join(self._chunks.get(index, [])))
            for index in range(max(self._chunks) + 1)
        ]
        return self._pending.model_copy(update={"content": content})
