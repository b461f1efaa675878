"""What the model is shown of a thread: its most recent items, converted to model input.

Earlier assistant turns are sent as plain ``{"role": "assistant", "content": "<text>"}``. The
ChatKit SDK's default emits ``output_text`` parts, which the Agents SDK's Chat Completions
converter rejects (``UserError: Unknown content``), so the second Gemini turn would fail; the plain
form is accepted by both the Responses and the Chat Completions paths.

Earlier tool calls are told as text (which tools were called, with what, and what came back),
not replayed as calls: a replayed call would need provider details kept with it (Gemini's
thought signatures), and the model needs to know what happened, not to redo it. They are told
in the assistant's voice: what a tool returned is third-party text, never the user's words.
Approval cards are not shown to the model: the workflow already says what ran. Attachments are
converted by ``backend.chat.attachment_input`` (only the newest carry their bytes).
"""

from __future__ import annotations

from typing import Any

from agents import TResponseInputItem
from chatkit.agents import ThreadItemConverter
from chatkit.types import (
    AssistantMessageItem,
    Attachment,
    CustomTask,
    ThreadMetadata,
    WidgetItem,
    WorkflowItem,
)

from backend.chat.attachment_input import AttachmentInput, carried
from backend.context import RequestContext
from backend.store.base import DeskStore

HISTORY_ITEM_LIMIT = 40
"""How many of a thread's latest items the model sees; older ones are not reloaded every turn."""


class PlainAssistantTextConverter(ThreadItemConverter):
    def __init__(self, attachments: AttachmentInput | None = None) -> None:
        self._attachments = attachments

    async def attachment_to_message_content(self, attachment: Attachment) -> Any:
        if self._attachments is None:
            return {"type": "input_text", "text": f"[Attachment: {attachment.name}]"}
        return await self._attachments.content(attachment)

    async def assistant_message_to_input(
        self, item: AssistantMessageItem
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        text = "".join(part.text for part in item.content)
        if not text:
            return None
        return {"role": "assistant", "content": text}

    async def workflow_to_input(
        self, item: WorkflowItem
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        calls = [
            f"- {task.title}: {task.content}"
            for task in item.workflow.tasks
            if isinstance(task, CustomTask) and task.title
        ]
        if not calls:
            return None  # reasoning: shown to the user only
        text = "Tools I called at this point of the conversation (→ result, ✗ error):\n"
        return {"role": "assistant", "content": text + "\n".join(calls)}

    async def widget_to_input(
        self, item: WidgetItem
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        return None


async def recent_history(
    store: DeskStore, thread: ThreadMetadata, context: RequestContext, provider: str
) -> list[TResponseInputItem]:
    """The thread's latest ``HISTORY_ITEM_LIMIT`` items, oldest first, as model input for
    ``provider`` (its attachment formats differ)."""
    page = await store.load_thread_items(thread.id, None, HISTORY_ITEM_LIMIT, "desc", context)
    items = list(reversed(page.data))
    budget = context.settings.attachment_history_bytes
    converter = PlainAssistantTextConverter(
        AttachmentInput(store, provider, carried(items, budget))
    )
    return await converter.to_agent_input(items)
