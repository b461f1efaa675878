"""Turns the Agents SDK's stream into ChatKit events: the answer, its tool calls, its reasoning.

This does what ``chatkit.agents.stream_agent_response`` does for text, at a fraction of the cost
per token: that one merges the run's events with a queue of widget/workflow events through two
new asyncio tasks *per event*. It also shows what that one does not — server-side tool calls, as
a workflow (``backend.chat.workflows``) — and fixes what the Chat Completions path gets wrong and
keeps what a failure would lose:

* every Chat Completions message is named ``__fake_id__`` by the Agents SDK (chatkit-python
  #36): the frontend would overwrite earlier replies and the store would key them together, so
  each such message gets a fresh store id here;
* the text received so far is kept, so a reply cut off by an upstream failure can be saved as
  far as it got — with a note that it is incomplete (``marked_incomplete``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from agents import RunResultStreaming
from agents.models.fake_id import FAKE_RESPONSES_ID
from chatkit.store import StoreItemType
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
    WorkflowItem,
)

from backend.chat.turns import TurnRecord
from backend.chat.workflows import ReasoningWorkflow, ToolWorkflow
from backend.tools.functions import ToolCalls

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
    """One run's events as ChatKit events. ``resumed``/``task_of_call``: the tool workflow of a
    run that paused for an approval and now goes on."""

    def __init__(
        self,
        thread_id: str,
        new_id: Callable[[StoreItemType], str],
        turn: TurnRecord,
        tool_calls: ToolCalls | None = None,
        resumed: WorkflowItem | None = None,
        task_of_call: dict[str, int] | None = None,
    ) -> None:
        self._thread_id = thread_id
        self._new_id = new_id
        self._turn = turn
        self._tool_calls = tool_calls or ToolCalls()
        self.tools = ToolWorkflow(thread_id, lambda: new_id("workflow"), resumed, task_of_call)
        self.reasoning = ReasoningWorkflow(thread_id, lambda: new_id("workflow"))
        self._ids: dict[str, str] = {}
        self._pending: AssistantMessageItem | None = None
        self.last_message: AssistantMessageItem | None = None
        """The last assistant message that was completed."""
        self._chunks: dict[int, list[str]] = {}

    def _store_id(self, upstream_id: str, new: bool = False) -> str:
        if upstream_id != FAKE_RESPONSES_ID:
            return upstream_id
        if new or upstream_id not in self._ids:
            self._ids[upstream_id] = self._new_id("message")
        return self._ids[upstream_id]

    async def events(self, result: RunResultStreaming) -> AsyncIterator[ThreadStreamEvent]:
        """The ChatKit events of the run: its messages, tool calls and reasoning summary."""
        async for run_event in result.stream_events():
            if run_event.type == "run_item_stream_event":
                for shown in self._run_item(run_event.name, run_event.item):
                    yield shown
                continue
            if run_event.type != "raw_response_event":
                continue
            event = run_event.data
            kind = event.type
            if kind == "response.output_text.delta":  # first: nearly every event is one
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
                for shown in self.close_workflows():  # they come before the answer
                    yield shown
                item = self._message(event.item, self._store_id(event.item.id, new=True))
                self._pending, self._chunks = item, {}
                yield ThreadItemAddedEvent(item=item)
            elif kind == "response.output_item.done" and event.item.type == "message":
                self._pending = None
                message = self._message(event.item, self._store_id(event.item.id))
                self.last_message = message
                yield ThreadItemDoneEvent(item=message)
            else:
                for shown in self._reasoning(kind, event):
                    yield shown

    def _reasoning(self, kind: str, event: Any) -> list[ThreadStreamEvent]:
        match kind:
            case "response.reasoning_summary_part.added":
                return self.reasoning.part_added()
            case "response.reasoning_summary_text.delta":
                return self.reasoning.delta(event.delta)
            case "response.reasoning_summary_text.done":
                return self.reasoning.part_done(event.text)
            case "response.reasoning_summary_part.done":
                return self.reasoning.part_done(event.part.text)
            case "response.output_item.added" if event.item.type != "reasoning":
                return self.reasoning.close()  # the model has moved on to calling a tool
        return []

    def _run_item(self, name: str, item: Any) -> list[ThreadStreamEvent]:
        if name == "tool_called":
            raw = item.raw_item
            server_tool = self._tool_calls.names.get(getattr(raw, "name", ""))
            label = " › ".join(server_tool) if server_tool else str(getattr(raw, "name", "tool"))
            call_id = str(getattr(raw, "call_id", ""))
            return [
                *self.reasoning.close(),
                *self.tools.called(call_id, label, str(getattr(raw, "arguments", ""))),
            ]
        if name == "tool_output":
            raw = item.raw_item
            call_id = str(raw.get("call_id", "") if isinstance(raw, dict) else raw.call_id)
            record = self._tool_calls.by_call_id.get(call_id)
            ok = record.ok is True if record is not None else False
            return self.tools.finished(call_id, ok, str(item.output))
        return []

    def close_workflows(self) -> list[ThreadStreamEvent]:
        """End the open workflows (the turn is over, or its answer begins)."""
        return [*self.reasoning.close(), *self.tools.close()]

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
