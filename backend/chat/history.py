"""What the model is shown of a thread: its most recent items, converted to model input.

Earlier assistant turns are sent as plain ``{"role": "assistant", "content": "<text>"}``. The
ChatKit SDK's default emits ``output_text`` parts, which the Agents SDK's Chat Completions
converter rejects (``UserError: Unknown content``), so the second Gemini turn would fail; the plain
form is accepted by both the Responses and the Chat Completions paths.
"""

from __future__ import annotations

from agents import TResponseInputItem
from chatkit.agents import ThreadItemConverter
from chatkit.store import Store
from chatkit.types import AssistantMessageItem, ThreadMetadata

from backend.context import RequestContext

HISTORY_ITEM_LIMIT = 40
"""How many of a thread's latest items the model sees; older ones are not reloaded every turn."""


class PlainAssistantTextConverter(ThreadItemConverter):
    async def assistant_message_to_input(
        self, item: AssistantMessageItem
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        text = "".join(part.text for part in item.content)
        if not text:
            return None
        return {"role": "assistant", "content": text}


_converter = PlainAssistantTextConverter()


async def recent_history(
    store: Store[RequestContext], thread: ThreadMetadata, context: RequestContext
) -> list[TResponseInputItem]:
    """The thread's latest ``HISTORY_ITEM_LIMIT`` items, oldest first, as model input."""
    page = await store.load_thread_items(thread.id, None, HISTORY_ITEM_LIMIT, "desc", context)
    return await _converter.to_agent_input(list(reversed(page.data)))
