"""The ChatKit server: one agent turn per user message, streamed through the ChatKit SDK."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
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
from backend.chat.gate import ProviderBusy, ProviderGate
from backend.chat.history import recent_history
from backend.chat.providers import ProviderNotConfigured, ProviderRegistry
from backend.chat.turns import TurnListener, TurnRecord
from backend.settings import Settings

logger = structlog.get_logger("chatkit_desk.chat")

TITLE_LENGTH = 60
RUN_CONFIG = RunConfig(tracing_disabled=True)


class DeskChatKitServer(ChatKitServer[RequestContext]):
    def __init__(
        self,
        store: Store[RequestContext],
        settings: Callable[[], Settings],
        providers: ProviderRegistry,
        gate: ProviderGate,
        on_turn: TurnListener,
    ) -> None:
        super().__init__(store)
        self._settings = settings
        self._providers = providers
        self._gate = gate
        self._on_turn = on_turn

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
        provider = self._providers.resolve(settings)
        turn = TurnRecord(provider.name, provider.model, thread.id)
        log = logger.bind(thread_id=thread.id, provider=provider.name, model=provider.model)
        try:
            async for event in self._answer(thread, input_user_message, context, settings, turn):
                yield event
        except CustomStreamError:
            raise
        except (asyncio.CancelledError, GeneratorExit):
            turn.outcome = "cancelled"
            raise
        except Exception:
            turn.outcome = "internal"
            raise
        finally:
            turn.finish()
            log.info(
                "turn",
                outcome=turn.outcome,
                first_token_ms=_ms(turn.first_token_seconds),
                duration_ms=_ms(turn.duration_seconds),
                input_tokens=turn.input_tokens,
                output_tokens=turn.output_tokens,
            )
            self._on_turn(turn)

    async def _answer(
        self,
        thread: ThreadMetadata,
        input_user_message: UserMessageItem | None,
        context: RequestContext,
        settings: Settings,
        turn: TurnRecord,
    ) -> AsyncIterator[ThreadStreamEvent]:
        try:
            agent, provider = self._providers.build_agent(settings)
        except ProviderNotConfigured as exc:
            turn.outcome = "no_key"
            raise CustomStreamError(str(exc), allow_retry=False) from None

        if thread.title is None and input_user_message is not None:
            thread.title = _title_from(input_user_message)

        try:
            async with self._gate.slot(provider.name):
                history = await recent_history(self.store, thread, context)
                agent_context = AgentContext(
                    thread=thread, store=self.store, request_context=context
                )
                result = Runner.run_streamed(
                    agent, history, context=agent_context, run_config=RUN_CONFIG
                )
                reply = _ReplyTracker(self.store, thread, context, turn)
                limits = _Waits.from_settings(settings)
                try:
                    events = stream_agent_response(agent_context, result)
                    async for event in _bounded_waits(events, limits):
                        yield reply.observe(event)
                except UpstreamTimeout as timeout:
                    turn.outcome = "timeout"
                    if partial := reply.partial():
                        yield ThreadItemDoneEvent(item=partial)
                    raise provider_errors.timeout_error(
                        provider, timeout.seconds, whole_turn=timeout.whole_turn
                    ) from None
                except Exception as exc:
                    stream_error = provider_errors.to_stream_error(exc, provider)
                    if stream_error is None:
                        raise
                    turn.outcome = provider_errors.kind_of(exc)
                    if partial := reply.partial():
                        yield ThreadItemDoneEvent(item=partial)
                    raise stream_error from None
                finally:
                    # Leaving the loop does not stop the upstream request (it would go on, and
                    # be billed): cancel it, whether the turn ended, failed or the client left.
                    if not result.is_complete:
                        result.cancel()
                    usage = result.context_wrapper.usage
                    turn.input_tokens, turn.output_tokens = usage.input_tokens, usage.output_tokens
        except ProviderBusy as busy:
            turn.outcome = "busy"
            raise provider_errors.busy_error(provider, str(busy)) from None


class UpstreamTimeout(Exception):
    def __init__(self, seconds: float, whole_turn: bool) -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.whole_turn = whole_turn


@dataclass(frozen=True)
class _Waits:
    first: float
    between: float
    whole_turn: float

    @classmethod
    def from_settings(cls, settings: Settings) -> _Waits:
        return cls(
            first=settings.first_token_timeout or settings.upstream_timeout,
            between=settings.upstream_timeout,
            whole_turn=settings.turn_timeout,
        )


async def _bounded_waits(
    events: AsyncIterator[ThreadStreamEvent], waits: _Waits
) -> AsyncIterator[ThreadStreamEvent]:
    """Relay ``events``; raise ``UpstreamTimeout`` when the provider keeps us waiting too long.

    Each wait for the next event is bounded (``waits.first`` until text starts to arrive), and
    so is the whole turn. Only the wait for the provider counts: the clock is stopped while an
    event is handed on, so a slow client never counts against the provider.
    """
    loop = asyncio.get_running_loop()
    turn_deadline = loop.time() + waits.whole_turn
    iterator = aiter(events)
    wait, whole_turn = waits.first, False
    try:
        async with asyncio.timeout(None) as deadline:
            while True:
                whole_turn = loop.time() + wait >= turn_deadline
                deadline.reschedule(min(loop.time() + wait, turn_deadline))
                try:
                    event = await anext(iterator)
                except StopAsyncIteration:
                    return
                deadline.reschedule(None)
                if isinstance(event, ThreadItemUpdatedEvent):  # text has started to arrive
                    wait = waits.between
                yield event
    except TimeoutError:
        raise UpstreamTimeout(waits.whole_turn if whole_turn else wait, whole_turn) from None


class _ReplyTracker:
    """Gives Chat Completions replies real ids and remembers the text of the reply so far.

    The Agents SDK names every Chat Completions message ``__fake_id__`` (chatkit-python #36):
    the frontend would overwrite earlier replies and the store would key them together. Each
    such message gets a fresh store id here. The text is kept so that a reply cut off by an
    upstream failure can be saved as far as it got.
    """

    def __init__(
        self,
        store: Store[RequestContext],
        thread: ThreadMetadata,
        context: RequestContext,
        turn: TurnRecord,
    ) -> None:
        self._store = store
        self._turn = turn
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
                self._turn.first_token()
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


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
