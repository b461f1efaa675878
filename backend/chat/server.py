"""The ChatKit server: one agent turn per user message, streamed through the ChatKit SDK."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import structlog
from agents import RunConfig, Runner
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.store import Store
from chatkit.types import (
    ChatKitReq,
    StreamingReq,
    ThreadItemDoneEvent,
    ThreadItemReplacedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
    UserMessageTextContent,
    is_streaming_req,
)

from backend.chat import provider_errors
from backend.chat.gate import ProviderBusy, ProviderGate
from backend.chat.history import recent_history
from backend.chat.openai_client import StreamEnding, current_stream_ending
from backend.chat.provider_errors import StreamCutShort
from backend.chat.providers import ProviderNotConfigured, ProviderRegistry
from backend.chat.reply import AssistantReply, marked_incomplete
from backend.chat.turns import TurnListener, TurnRecord
from backend.chat.waits import Waits, bounded_waits
from backend.context import RequestContext

logger = structlog.get_logger("chatkit_desk.chat")

TITLE_LENGTH = 60
RUN_CONFIG = RunConfig(tracing_disabled=True)


class DeskChatKitServer(ChatKitServer[RequestContext]):
    def __init__(
        self,
        store: Store[RequestContext],
        providers: ProviderRegistry,
        gate: ProviderGate,
        on_turn: TurnListener,
    ) -> None:
        super().__init__(store)
        self._providers = providers
        self._gate = gate
        self._on_turn = on_turn

    async def process_parsed(
        self, request: ChatKitReq, context: RequestContext
    ) -> StreamingResult | NonStreamingResult:
        """``process()`` for a request that is already parsed and checked.

        ``process()`` builds a new pydantic ``TypeAdapter`` for the whole request union on every
        call — about 10 ms of schema generation per request, most of the SDK's time to the first
        token. The request was parsed once already (``backend.web.chatkit_requests``).
        """
        if is_streaming_req(request):
            return StreamingResult(self._process_streaming(request, context))
        return NonStreamingResult(await self._process_non_streaming(request, context))

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
        provider = self._providers.resolve(context.settings)
        turn = TurnRecord(provider.name, provider.model, thread.id)
        log = logger.bind(thread_id=thread.id, provider=provider.name, model=provider.model)
        try:
            async for event in self._answer(thread, input_user_message, context, turn):
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
        turn: TurnRecord,
    ) -> AsyncIterator[ThreadStreamEvent]:
        settings = context.settings
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
                ending = StreamEnding()
                ending_token = current_stream_ending.set(ending)  # inherited by the run's task
                try:
                    result = Runner.run_streamed(agent, history, run_config=RUN_CONFIG)
                finally:
                    current_stream_ending.reset(ending_token)
                reply = AssistantReply(
                    thread.id,
                    lambda: self.store.generate_item_id("message", thread, context),
                    turn,
                )
                try:
                    async for event in bounded_waits(
                        reply.events(result), Waits.from_settings(settings)
                    ):
                        yield event
                    if not ending.complete:
                        raise StreamCutShort
                except Exception as exc:
                    failure = provider_errors.explain(exc, provider, ending.finished)
                    if failure is None:
                        raise
                    turn.outcome = failure.kind
                    if turn.outcome == "auth":
                        self._providers.forget_key(provider.name)
                    # Keep what arrived, marked as cut short, then tell the user why.
                    kept = _cut_short_answer(reply, ending)
                    if kept is not None:
                        yield kept
                        await self.store.mark_incomplete(thread.id, kept.item.id, context)
                    raise failure.error from None
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


def _cut_short_answer(
    reply: AssistantReply, ending: StreamEnding
) -> ThreadItemDoneEvent | ThreadItemReplacedEvent | None:
    """The event that keeps what arrived of an answer that stopped early, marked incomplete:
    the message in progress, or the last one if the provider never said the turn was over."""
    partial = reply.partial()
    if partial is not None:
        return ThreadItemDoneEvent(item=marked_incomplete(partial))
    if not ending.complete and reply.last_message is not None:
        return ThreadItemReplacedEvent(item=marked_incomplete(reply.last_message))
    return None


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
