"""The ChatKit server: one agent turn per user message, streamed through the ChatKit SDK."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from agents import RunConfig, Runner
from agents.models.fake_id import FAKE_RESPONSES_ID
from chatkit.agents import AgentContext, stream_agent_response
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer
from chatkit.store import Store
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    StreamingReq,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
    UserMessageTextContent,
)

from backend.chat import provider_errors
from backend.chat.context import RequestContext
from backend.chat.history import recent_history
from backend.chat.providers import ProviderNotConfigured, ProviderRegistry
from backend.settings import Settings

TITLE_LENGTH = 60
RUN_CONFIG = RunConfig(tracing_disabled=True)


class DeskChatKitServer(ChatKitServer[RequestContext]):
    def __init__(
        self,
        store: Store[RequestContext],
        settings: Callable[[], Settings],
        providers: ProviderRegistry,
    ) -> None:
        super().__init__(store)
        self._settings = settings
        self._providers = providers

    def stream_events(
        self, request: StreamingReq, context: RequestContext
    ) -> AsyncIterator[ThreadStreamEvent]:
        """The events of a streaming request as objects, for protocols other than ChatKit's.

        ``process()`` only offers them serialized; this uses the SDK's own pipeline (pinned
        version) so the store sees exactly what a ChatKit request would do.
        """
        return self._process_streaming_impl(request, context)

    async def respond(
        self,
        thread: ThreadMetadata,
        input_user_message: UserMessageItem | None,
        context: RequestContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        settings = self._settings()
        try:
            agent, provider = self._providers.build_agent(settings)
        except ProviderNotConfigured as exc:
            raise CustomStreamError(str(exc), allow_retry=False) from None

        if thread.title is None and input_user_message is not None:
            thread.title = _title_from(input_user_message)

        history = await recent_history(self.store, thread, context)
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(agent, history, context=agent_context, run_config=RUN_CONFIG)
        reply = _ReplyTracker(self.store, thread, context)
        events = stream_agent_response(agent_context, result)
        try:
            async for event in _bounded_waits(events, settings.upstream_timeout):
                yield reply.observe(event)
        except TimeoutError:
            if partial := reply.partial():
                yield ThreadItemDoneEvent(item=partial)
            raise provider_errors.timeout_error(provider, settings.upstream_timeout) from None
        except Exception as exc:
            stream_error = provider_errors.to_stream_error(exc, provider)
            if stream_error is None:
                raise
            if partial := reply.partial():
                yield ThreadItemDoneEvent(item=partial)
            raise stream_error from None
        finally:
            # Leaving the loop does not stop the upstream request (it would go on, and be
            # billed): cancel it, whether the turn ended, failed or the client went away.
            if not result.is_complete:
                result.cancel()


async def _bounded_waits(
    events: AsyncIterator[ThreadStreamEvent], seconds: float
) -> AsyncIterator[ThreadStreamEvent]:
    """Relay ``events``; raise ``TimeoutError`` if the next one takes longer than ``seconds``.

    Only the wait for the provider is bounded: the clock is stopped while an event is being
    handed on, so a slow client never counts against the provider.
    """
    loop = asyncio.get_running_loop()
    iterator = aiter(events)
    async with asyncio.timeout(None) as deadline:
        while True:
            deadline.reschedule(loop.time() + seconds)
            try:
                event = await anext(iterator)
            except StopAsyncIteration:
                return
            deadline.reschedule(None)
            yield event


class _ReplyTracker:
    """Gives Chat Completions replies real ids and remembers the text of the reply so far.

    The Agents SDK names every Chat Completions message ``__fake_id__`` (chatkit-python #36):
    the frontend would overwrite earlier replies and the store would key them together. Each
    such message gets a fresh store id here. The text is kept so that a reply cut off by an
    upstream failure can be saved as far as it got.
    """

    def __init__(
        self, store: Store[RequestContext], thread: ThreadMetadata, context: RequestContext
    ) -> None:
        self._store = store
        self._thread = thread
        self._context = context
        self._real_id = ""
        self._pending: AssistantMessageItem | None = None
        self._chunks: dict[int, list[str]] = {}

    def observe(self, event: ThreadStreamEvent) -> ThreadStreamEvent:
        if isinstance(event, ThreadItemUpdatedEvent):
            if event.item_id == FAKE_RESPONSES_ID:
                event = event.model_copy(update={"item_id": self._real_id})
            update = event.update
            if isinstance(update, AssistantMessageContentPartTextDelta):
                self._chunks.setdefault(update.content_index, []).append(update.delta)
        elif isinstance(event, ThreadItemAddedEvent | ThreadItemDoneEvent):
            item = event.item
            if isinstance(item, AssistantMessageItem):
                if item.id == FAKE_RESPONSES_ID:
                    if isinstance(event, ThreadItemAddedEvent) or not self._real_id:
                        self._real_id = self._store.generate_item_id(
                            "message", self._thread, self._context
                        )
                    item = item.model_copy(update={"id": self._real_id})
                    event = event.model_copy(update={"item": item})
                if isinstance(event, ThreadItemAddedEvent):
                    self._pending, self._chunks = item, {}
                else:
                    self._pending = None
        return event

    def partial(self) -> AssistantMessageItem | None:
        """The reply in progress with the text received so far, or ``None`` if there is none."""
        if self._pending is None or not any("".join(c).strip() for c in self._chunks.values()):
            return None
        content = [
            AssistantMessageContent(text="".join(self._chunks.get(index, [])))
            for index in range(max(self._chunks) + 1)
        ]
        return self._pending.model_copy(update={"content": content})


def _title_from(message: UserMessageItem) -> str:
    text = " ".join(
        part.text for part in message.content if isinstance(part, UserMessageTextContent)
    )
    text = " ".join(text.split())
    if len(text) > TITLE_LENGTH:
        text = text[: TITLE_LENGTH - 1].rstrip() + "…"
    return text or f"Chat of {datetime.now():%Y-%m-%d %H:%M}"
