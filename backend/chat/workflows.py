"""The workflow items of a turn: one for its tool calls, one for the model's reasoning summary.

ChatKit shows a workflow as a collapsible list of tasks (ChatKit.js: "Used 2 tools", "Thought
for 4 s"). The ChatKit SDK's own mapping renders nothing for server-side tool calls, so the
calls are made into tasks here: ``server › tool`` with its arguments, loading until the result
(or the error) arrives. A workflow is stored like any item, so a reload and ``items.list`` show
it, and later turns tell the model what was called (``backend.chat.history``).

A tool workflow paused for an approval is carried on when the run resumes, in a later request:
then every change replaces the stored item whole, which any ChatKit client applies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

from chatkit.types import (
    CustomSummary,
    CustomTask,
    DurationSummary,
    ThoughtTask,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemReplacedEvent,
    ThreadItemUpdatedEvent,
    ThreadStreamEvent,
    Workflow,
    WorkflowItem,
    WorkflowTaskAdded,
    WorkflowTaskUpdated,
)

ARGUMENTS_SHOWN = 300
RESULT_SHOWN = 1_000
"""How much of a call's arguments and result a task shows (the model gets all of the result)."""
THOUGHT_UPDATE_SECONDS = 0.1
"""A reasoning task is sent whole on every update: at most this often while it streams."""
AWAITING_APPROVAL = "Waiting for your approval"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def compact_arguments(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments or "{}"), ensure_ascii=False, separators=(",", ":"))
    except json.JSONDecodeError:
        return arguments


class ToolWorkflow:
    """The tool calls of a turn as one workflow item, one task per call."""

    def __init__(
        self,
        thread_id: str,
        new_id: Callable[[], str],
        resumed: WorkflowItem | None = None,
        task_of_call: dict[str, int] | None = None,
    ) -> None:
        self._thread_id = thread_id
        self._new_id = new_id
        self._resumed = resumed is not None
        self.item: WorkflowItem | None = resumed
        self.task_of_call: dict[str, int] = dict(task_of_call or {})
        self._arguments: dict[str, str] = {}
        self.running = 0
        """Calls started and not finished."""

    @property
    def is_open(self) -> bool:
        return self.item is not None

    def called(self, call_id: str, label: str, arguments: str) -> list[ThreadStreamEvent]:
        events: list[ThreadStreamEvent] = []
        if self.item is None:
            self.item = WorkflowItem(
                id=self._new_id(),
                thread_id=self._thread_id,
                created_at=datetime.now(),
                workflow=Workflow(type="custom", tasks=[], expanded=True),
            )
            self.task_of_call = {}
            events.append(ThreadItemAddedEvent(item=self.item))
        shown = shorten(compact_arguments(arguments), ARGUMENTS_SHOWN)
        self._arguments[call_id] = shown
        task = CustomTask(title=label, icon="bolt", content=shown, status_indicator="loading")
        index = len(self.item.workflow.tasks)
        self.running += 1
        self.task_of_call[call_id] = index
        self.item.workflow.tasks.append(task)
        events.append(self._changed(WorkflowTaskAdded(task_index=index, task=task)))
        return events

    def _stops_running(self, call_id: str) -> tuple[int, CustomTask] | None:
        """The task of a call that is no longer running (done, or waiting for approval)."""
        index = self.task_of_call.get(call_id)
        if self.item is None or index is None:
            return None
        task = self.item.workflow.tasks[index]
        assert isinstance(task, CustomTask)
        self.running = max(0, self.running - 1)
        return index, task

    def finished(self, call_id: str, ok: bool, output: str) -> list[ThreadStreamEvent]:
        found = self._stops_running(call_id)
        if found is None:
            return []
        index, task = found
        arguments = self._arguments.get(call_id, (task.content or "").split("\n")[0])
        result = shorten(output.strip(), RESULT_SHOWN)
        content = f"{arguments}\n→ {result}" if ok else f"{arguments}\n✗ {result}"
        done = task.model_copy(update={"content": content, "status_indicator": "complete"})
        self.item.workflow.tasks[index] = done
        return [self._changed(WorkflowTaskUpdated(task_index=index, task=done))]

    def awaiting_approval(self, call_id: str) -> list[ThreadStreamEvent]:
        found = self._stops_running(call_id)
        if found is None:
            return []
        index, task = found
        waiting = task.model_copy(
            update={"content": f"{task.content}\n{AWAITING_APPROVAL}", "status_indicator": "none"}
        )
        self.item.workflow.tasks[index] = waiting
        return [self._changed(WorkflowTaskUpdated(task_index=index, task=waiting))]

    def resume(self, decisions: dict[str, str]) -> list[ThreadStreamEvent]:
        """A paused run goes on: the allowed calls run now (and the turn waits for them as for
        any call); the refused ones end when the run reports them."""
        if self.item is None:
            return []
        for call_id, decision in decisions.items():
            index = self.task_of_call.get(call_id)
            if index is None or index >= len(self.item.workflow.tasks):
                continue
            task = self.item.workflow.tasks[index]
            if not isinstance(task, CustomTask) or AWAITING_APPROVAL not in (task.content or ""):
                continue
            content = (task.content or "").replace(f"\n{AWAITING_APPROVAL}", "")
            self._arguments[call_id] = content
            running = decision == "allow"
            self.running += running
            self.item.workflow.tasks[index] = task.model_copy(
                update={"content": content, "status_indicator": "loading" if running else "none"}
            )
        return [ThreadItemReplacedEvent(item=self.item.model_copy(deep=True))]

    def close(self) -> list[ThreadStreamEvent]:
        """End the workflow: collapsed, with a summary of what was called."""
        if self.item is None:
            return []
        self.running = 0
        item = ended(self.item, "The turn ended before this call finished.")
        self.item = None
        if self._resumed:
            return [ThreadItemReplacedEvent(item=item)]
        return [ThreadItemDoneEvent(item=item)]

    def _changed(self, update: WorkflowTaskAdded | WorkflowTaskUpdated) -> ThreadStreamEvent:
        assert self.item is not None
        if self._resumed:
            return ThreadItemReplacedEvent(item=self.item.model_copy(deep=True))
        return ThreadItemUpdatedEvent(item_id=self.item.id, update=update)


class ReasoningWorkflow:
    """The model's reasoning summary as a workflow of type reasoning, one thought per part.

    Opened by the first summary part: a model that reasons without a summary shows nothing.
    """

    def __init__(self, thread_id: str, new_id: Callable[[], str]) -> None:
        self._thread_id = thread_id
        self._new_id = new_id
        self.item: WorkflowItem | None = None
        self._started = 0.0
        self._sent_at = 0.0

    def part_added(self) -> list[ThreadStreamEvent]:
        events: list[ThreadStreamEvent] = []
        if self.item is None:
            self._started = time.monotonic()
            self.item = WorkflowItem(
                id=self._new_id(),
                thread_id=self._thread_id,
                created_at=datetime.now(),
                workflow=Workflow(type="reasoning", tasks=[], expanded=True),
            )
            events.append(ThreadItemAddedEvent(item=self.item))
        task = ThoughtTask(content="")
        self.item.workflow.tasks.append(task)
        index = len(self.item.workflow.tasks) - 1
        events.append(
            ThreadItemUpdatedEvent(
                item_id=self.item.id, update=WorkflowTaskAdded(task_index=index, task=task)
            )
        )
        return events

    def delta(self, text: str) -> list[ThreadStreamEvent]:
        if self.item is None or not self.item.workflow.tasks:
            return []
        index = len(self.item.workflow.tasks) - 1
        task = self.item.workflow.tasks[index]
        assert isinstance(task, ThoughtTask)
        task.content += text
        if time.monotonic() - self._sent_at < THOUGHT_UPDATE_SECONDS:
            return []
        return self._sent(index)

    def part_done(self, text: str | None = None) -> list[ThreadStreamEvent]:
        if self.item is None or not self.item.workflow.tasks:
            return []
        index = len(self.item.workflow.tasks) - 1
        task = self.item.workflow.tasks[index]
        assert isinstance(task, ThoughtTask)
        if text:
            task.content = text
        return self._sent(index)

    def close(self) -> list[ThreadStreamEvent]:
        if self.item is None:
            return []
        self.item.workflow.summary = DurationSummary(
            duration=max(1, round(time.monotonic() - self._started))
        )
        self.item.workflow.expanded = False
        item, self.item = self.item, None
        return [ThreadItemDoneEvent(item=item)]

    def _sent(self, index: int) -> list[ThreadStreamEvent]:
        assert self.item is not None
        self._sent_at = time.monotonic()
        task = self.item.workflow.tasks[index].model_copy()
        return [
            ThreadItemUpdatedEvent(
                item_id=self.item.id, update=WorkflowTaskUpdated(task_index=index, task=task)
            )
        ]


def ended(item: WorkflowItem, unfinished: str) -> WorkflowItem:
    """A tool workflow as it stays once its turn is over: calls still running say ``unfinished``,
    and it is collapsed under a count of its calls."""
    done = item.model_copy(deep=True)
    for index, task in enumerate(done.workflow.tasks):
        if isinstance(task, CustomTask) and task.status_indicator == "loading":
            done.workflow.tasks[index] = task.model_copy(
                update={
                    "content": f"{task.content}\n✗ {unfinished}",
                    "status_indicator": "complete",
                }
            )
    count = len(done.workflow.tasks)
    title = f"Used {count} tool{'s' if count != 1 else ''}"
    done.workflow.summary = CustomSummary(title=title, icon="bolt")
    done.workflow.expanded = False
    return done


def settle_waiting(item: WorkflowItem, task_of_call: dict[str, int], note: str) -> WorkflowItem:
    """The workflow of a paused run whose calls will never run: their tasks say so."""
    settled = item.model_copy(deep=True)
    for index in task_of_call.values():
        if index < len(settled.workflow.tasks):
            task = settled.workflow.tasks[index]
            if isinstance(task, CustomTask) and AWAITING_APPROVAL in (task.content or ""):
                content = (task.content or "").replace(AWAITING_APPROVAL, f"✗ {note}")
                settled.workflow.tasks[index] = task.model_copy(update={"content": content})
    return settled
