"""The ChatKit server: one agent turn per user message, streamed through the ChatKit SDK.

A turn may call the tool servers' tools (``backend.tools``); a call that needs the user's
approval pauses the run, which the approval card's action resumes (``action``).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime
from typing import Any

import structlog
from agents import Agent, RunConfig, Runner, RunResultStreaming, TResponseInputItem
from agents.run_state import RunState
from chatkit.actions import Action
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageItem,
    ChatKitReq,
    NoticeEvent,
    StreamingReq,
    ThreadItem,
    ThreadItemDoneEvent,
    ThreadItemReplacedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
    UserMessageTextContent,
    WidgetItem,
    WorkflowItem,
    is_streaming_req,
)
from pydantic import BaseModel

from backend.attachments.previews import PreviewLinks, current_base_url
from backend.attachments.service import DeskAttachments
from backend.chat import provider_errors
from backend.chat.approvals import APPROVAL_ACTION, REFUSED, approval_card, decided_card
from backend.chat.gate import ProviderBusy, ProviderGate
from backend.chat.history import recent_history
from backend.chat.openai_client import StreamEnding, current_stream_ending
from backend.chat.provider_errors import StreamCutShort
from backend.chat.providers import ProviderNotConfigured, ProviderRegistry
from backend.chat.reply import AssistantReply, marked_incomplete
from backend.chat.turns import TurnListener, TurnRecord
from backend.chat.usage import TokenUsage, add_to_thread
from backend.chat.waits import Waits, bounded_waits
from backend.chat.workflows import ToolWorkflow, ended, settle_waiting
from backend.context import RequestContext
from backend.drain import Drain
from backend.store.approvals import Approval, ApprovalStore, DecidedRun
from backend.store.base import DeskStore
from backend.tools.functions import ToolCalls, current_tool_calls, function_tools
from backend.tools.hub import ToolHub

logger = structlog.get_logger("chatkit_desk.chat")

TITLE_LENGTH = 60
RUN_CONFIG = RunConfig(tracing_disabled=True)
NOT_RUN = "Not run: the conversation moved on before you chose."
STOPPED = "Stopped before it finished: the answer was stopped."
FIRST_CONNECT_WAIT_SECONDS = 10.0
"""How long a turn waits for tool servers still starting (after start-up or a config change)."""
NOTICED = "tool_notices"
"""Thread metadata: the tool notices this thread has been shown (each is shown once)."""


class DeskChatKitServer(ChatKitServer[RequestContext]):
    def __init__(
        self,
        store: DeskStore,
        providers: ProviderRegistry,
        gate: ProviderGate,
        on_turn: TurnListener,
        tools: ToolHub | None = None,
        approvals: ApprovalStore | None = None,
        attachments: DeskAttachments | None = None,
        previews: PreviewLinks | None = None,
        drain: Drain | None = None,
    ) -> None:
        super().__init__(store, attachment_store=attachments)
        self._desk_store = store
        self._previews = previews
        self._drain = drain or Drain()
        self._providers = providers
        self._gate = gate
        self._on_turn = on_turn
        self._tools = tools
        self._approvals = approvals
        self._resumed: dict[str, ToolWorkflow] = {}
        """The tool workflow of a resumed run still streaming, by thread."""

    async def process_parsed(
        self, request: ChatKitReq, context: RequestContext
    ) -> StreamingResult | NonStreamingResult:
        """``process()`` for a request that is already parsed and checked.

        ``process()`` builds a new pydantic ``TypeAdapter`` for the whole request union on every
        call — about 10 ms of schema generation per request, most of the SDK's time to the first
        token. The request was parsed once already (``backend.web.chatkit_requests``).
        """
        # Set in the request's task, where the stream is serialized too (see _serialize).
        current_base_url.set(context.base_url or None)
        if is_streaming_req(request):
            return StreamingResult(self._process_streaming(request, context))
        return NonStreamingResult(await self._process_non_streaming(request, context))

    def _serialize(self, obj: BaseModel) -> bytes:
        """Every answer leaves through here: image previews get fresh signed links on the way."""
        if self._previews is not None:
            self._previews.refresh(obj)
        return super()._serialize(obj)

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
        if self._approvals is not None:
            for event in await self._expire_approvals(thread, context):
                yield event
        if thread.title is None and input_user_message is not None:
            thread.title = _title_from(input_user_message)
        async for event in self._turn(thread, context, resume=None):
            yield event

    async def action(
        self,
        thread: ThreadMetadata,
        action: Action[str, Any],
        sender: WidgetItem | None,
        context: RequestContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        """Allow or Deny on an approval card: a call decided once; the run resumes when its
        last waiting call is decided."""
        payload = action.payload if isinstance(action.payload, dict) else {}
        decision = payload.get("decision")
        if action.type != APPROVAL_ACTION or decision not in ("allow", "deny"):
            raise CustomStreamError("This action is not one ChatKit Desk knows.", allow_retry=False)
        assert self._approvals is not None
        approval = await self._approvals.decide(
            str(payload.get("approval_id")),
            context.user_id,
            thread.id,
            sender.id if sender is not None else "",
            decision,
        )
        if approval is None:
            return  # decided already (a second click): nothing runs twice
        yield ThreadItemReplacedEvent(item=decided_card(approval, thread.id, decision))
        run = await self._approvals.claim(approval.run_id, context.user_id)
        if run is None:
            return  # other calls of the run still wait
        try:
            async for event in self._turn(thread, context, resume=run):
                yield event
        except Exception:
            if await self._approvals.is_paused(run.run_id):  # failed before the run started again
                await self._approvals.reopen(approval.id, run.run_id)
                yield ThreadItemReplacedEvent(item=approval_card(approval, thread.id))
            raise

    async def handle_stream_cancelled(
        self, thread: ThreadMetadata, pending_items: list[ThreadItem], context: RequestContext
    ) -> None:
        """Keep the tool calls and reasoning of a turn the client left, not only its text.

        A resumed run's tool workflow is not among ``pending_items`` (it was stored when the run
        paused): its calls still running are stored as stopped too.
        """
        resumed = self._resumed.pop(thread.id, None)
        if resumed is not None and resumed.item is not None:
            await self.store.save_item(thread.id, ended(resumed.item, STOPPED), context)
        for item in pending_items:
            if isinstance(item, WorkflowItem) and item.workflow.tasks:
                if item.workflow.type == "custom":
                    item = ended(item, STOPPED)
                await self.store.add_thread_item(thread.id, item, context=context)
        if self._drain.ended():
            await self._keep_cut_by_shutdown(thread, pending_items, context)
        else:
            await super().handle_stream_cancelled(thread, pending_items, context)

    async def _keep_cut_by_shutdown(
        self, thread: ThreadMetadata, pending_items: list[ThreadItem], context: RequestContext
    ) -> None:
        """The server cancelled the stream as it stopped (past its drain deadline, the turn did
        not end by itself): keep the partial answer marked incomplete, without the SDK's note
        that the user cancelled, which would tell the model to drop the request."""
        for item in pending_items:
            if isinstance(item, AssistantMessageItem) and any(p.text.strip() for p in item.content):
                kept = marked_incomplete(item)
                await self.store.add_thread_item(thread.id, kept, context=context)
                await self.store.mark_incomplete(thread.id, kept.id, context)

    async def _turn(
        self, thread: ThreadMetadata, context: RequestContext, resume: DecidedRun | None
    ) -> AsyncIterator[ThreadStreamEvent]:
        provider = self._providers.resolve(context.settings)
        turn = TurnRecord(provider.name, provider.model, thread.id)
        log = logger.bind(thread_id=thread.id, provider=provider.name, model=provider.model)
        try:
            async for event in self._answer(thread, context, turn, resume):
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
                cached_tokens=turn.cached_tokens,
                output_tokens=turn.output_tokens,
                reasoning_tokens=turn.reasoning_tokens,
                tool_calls=turn.tool_calls,
                resumed=resume is not None,
            )
            self._on_turn(turn)

    async def _answer(
        self,
        thread: ThreadMetadata,
        context: RequestContext,
        turn: TurnRecord,
        resume: DecidedRun | None,
    ) -> AsyncIterator[ThreadStreamEvent]:
        settings = context.settings
        try:
            agent, provider = self._providers.build_agent(settings)
        except ProviderNotConfigured as exc:
            turn.outcome = "no_key"
            raise CustomStreamError(str(exc), allow_retry=False) from None
        calls = ToolCalls()
        if self._tools is not None:
            await self._tools.wait_started(FIRST_CONNECT_WAIT_SECONDS)
            for notice in self._tool_notices(thread):
                yield NoticeEvent(level="warning", message=notice)
            functions = function_tools(self._tools, self._tools.available(), calls)
            if functions:
                agent = agent.clone(tools=functions)

        try:
            async with self._gate.slot(provider.name):
                run_input, resumed = await self._run_input(
                    thread, context, agent, resume, provider.name
                )
                ending = StreamEnding()
                # Both are inherited by the run's task: the client notes how each stream ends,
                # the tools note how each call went.
                ending_token = current_stream_ending.set(ending)
                calls_token = current_tool_calls.set(calls)
                try:
                    result = Runner.run_streamed(
                        agent, run_input, run_config=RUN_CONFIG, max_turns=settings.max_tool_steps
                    )
                finally:
                    current_stream_ending.reset(ending_token)
                    current_tool_calls.reset(calls_token)
                reply = AssistantReply(
                    thread.id,
                    lambda kind: self.store.generate_item_id(kind, thread, context),
                    turn,
                    calls,
                    resumed,
                    resume.task_of_call if resume else None,
                )
                if resume is not None:
                    for event in reply.tools.resume(resume.decisions):
                        yield event
                    self._resumed[thread.id] = reply.tools  # see handle_stream_cancelled
                try:
                    async for event in bounded_waits(
                        reply.events(result),
                        Waits.from_settings(settings),
                        lambda: calls.longest_timeout if reply.tools.running else 0.0,
                        self._drain,
                    ):
                        yield event
                    if result.interruptions:
                        for event in await self._pause(thread, context, result, reply, calls):
                            yield event
                    elif not ending.complete:
                        raise StreamCutShort
                    for event in reply.close_workflows():
                        yield event
                except Exception as exc:
                    failure = provider_errors.explain(exc, provider, ending.finished)
                    if failure is None:
                        raise
                    turn.outcome = failure.kind
                    if turn.outcome == "auth":
                        self._providers.forget_key(provider.name)
                    for event in reply.close_workflows():
                        yield event
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
                    counted = TokenUsage(**resume.counted_usage) if resume else TokenUsage()
                    _count(turn, thread, result, reply, calls, counted)
                    if not reply.tools.is_open:  # else the client left: settled on cancel
                        self._resumed.pop(thread.id, None)
        except ProviderBusy as busy:
            turn.outcome = "busy"
            raise provider_errors.busy_error(provider, str(busy)) from None

    async def _run_input(
        self,
        thread: ThreadMetadata,
        context: RequestContext,
        agent: Agent[Any],
        resume: DecidedRun | None,
        provider: str,
    ) -> tuple[list[TResponseInputItem] | RunState[Any], WorkflowItem | None]:
        """What the run starts from: the thread's history, or a paused run with its decisions."""
        if resume is None:
            return await recent_history(self._desk_store, thread, context, provider), None
        try:
            state = await RunState.from_json(agent, json.loads(resume.state))
        except Exception as exc:
            raise CustomStreamError(
                "The paused answer cannot go on: its tools are not all available now "
                f"({type(exc).__name__}). Check the tool servers in Settings, then choose "
                "again, or ask again.",
                allow_retry=False,
            ) from None
        assert self._approvals is not None
        await self._approvals.finish(resume.run_id)  # from here on, it runs: never twice
        for item in state.get_interruptions():
            call_id = getattr(item.raw_item, "call_id", None)
            if resume.decisions.get(str(call_id)) == "allow":
                state.approve(item)
            else:
                state.reject(item, rejection_message=REFUSED)
        workflow = None
        if resume.workflow_id is not None:
            try:
                stored = await self.store.load_item(thread.id, resume.workflow_id, context)
                workflow = stored if isinstance(stored, WorkflowItem) else None
            except NotFoundError:
                workflow = None
        return state, workflow

    async def _pause(
        self,
        thread: ThreadMetadata,
        context: RequestContext,
        result: RunResultStreaming,
        reply: AssistantReply,
        calls: ToolCalls,
    ) -> list[ThreadStreamEvent]:
        """The run stopped at calls that need approval: keep it, and ask."""
        assert self._approvals is not None
        run_id = f"run_{uuid.uuid4().hex}"
        approvals = []
        for interruption in result.interruptions:
            raw = interruption.raw_item
            name = str(getattr(raw, "name", ""))
            server, tool = calls.names.get(name, ("", name))
            approvals.append(
                Approval(
                    id=f"apv_{uuid.uuid4().hex}",
                    run_id=run_id,
                    item_id=self.store.generate_item_id("tool_call", thread, context),
                    call_id=str(getattr(raw, "call_id", "")),
                    server=server,
                    tool=tool,
                    arguments=str(getattr(raw, "arguments", "")),
                )
            )
        events = [e for a in approvals for e in reply.tools.awaiting_approval(a.call_id)]
        workflow = reply.tools.item
        await self._approvals.pause(
            run_id,
            thread.id,
            context.user_id,
            json.dumps(result.to_state().to_json()),
            workflow.id if workflow is not None else None,
            dict(reply.tools.task_of_call),
            approvals,
            asdict(TokenUsage.of_run(result.context_wrapper.usage)),
        )
        events += reply.close_workflows()
        events += [ThreadItemDoneEvent(item=approval_card(a, thread.id)) for a in approvals]
        return events

    async def _expire_approvals(
        self, thread: ThreadMetadata, context: RequestContext
    ) -> list[ThreadStreamEvent]:
        """A new message moves the conversation on: cards still waiting say they were not run."""
        assert self._approvals is not None
        expired, workflows = await self._approvals.expire_thread(thread.id, context.user_id)
        events: list[ThreadStreamEvent] = []
        for approval in expired:
            if await self._exists(thread, approval.item_id, context):
                card = decided_card(approval, thread.id, "expired")
                events.append(ThreadItemReplacedEvent(item=card))
        for workflow_id, task_of_call in workflows:
            try:
                item = await self.store.load_item(thread.id, workflow_id, context)
            except NotFoundError:
                continue
            if isinstance(item, WorkflowItem):
                settled = settle_waiting(item, task_of_call, NOT_RUN)
                events.append(ThreadItemReplacedEvent(item=settled))
        return events

    async def _exists(self, thread: ThreadMetadata, item_id: str, context: RequestContext) -> bool:
        try:
            await self.store.load_item(thread.id, item_id, context)
        except NotFoundError:
            return False
        return True

    def _tool_notices(self, thread: ThreadMetadata) -> list[str]:
        """What is wrong with the tool servers that this thread has not been told yet.

        Told once per thread and problem (not on every message); a problem that goes away
        and comes back is told again.
        """
        assert self._tools is not None
        problems = {
            state.name: f"The tool server “{state.name}” is {state.describe()}; answers go on "
            "without its tools until it is back."
            for state in self._tools.unavailable()
        }
        if self._tools.config_error:
            problems[""] = (
                f"{self._tools.config_error}. Until that is fixed, what it names stays as it was."
            )
        told = thread.metadata.get(NOTICED) or {}
        thread.metadata[NOTICED] = {name: _problem_key(text) for name, text in problems.items()}
        return [text for name, text in problems.items() if told.get(name) != _problem_key(text)]


def _count(
    turn: TurnRecord,
    thread: ThreadMetadata,
    result: RunResultStreaming,
    reply: AssistantReply,
    calls: ToolCalls,
    counted: TokenUsage,
) -> None:
    """What the run used, on the turn's record and in the thread's metadata. A resumed run
    reports the usage of its first part again: ``counted`` already was, when it paused."""
    used = TokenUsage.of_run(result.context_wrapper.usage) - counted
    turn.input_tokens, turn.cached_tokens = used.input_tokens, used.cached_tokens
    turn.output_tokens, turn.reasoning_tokens = used.output_tokens, used.reasoning_tokens
    turn.tool_calls = len(calls.by_call_id)
    if used.requests:
        answer = reply.last_message.id if reply.last_message is not None else None
        add_to_thread(thread, used, answer)


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


def _problem_key(notice: str) -> str:
    """A notice without its retry countdown, which changes while the problem stays the same."""
    return notice.split("; trying again in", 1)[0]


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
