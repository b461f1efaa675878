"""Pay the chat stack's one-time costs while the server starts, not on the user's first message.

The first turn in a fresh process took ~300 ms longer than the ones after it (``bench/``: first
message after start): openai imports its API resources when a client first uses them; pydantic
builds the validator of each openai and ChatKit type the first time one is made; the Agents SDK
sets up its trace provider, and openai's request types are checked for transforms
(``request_transform``), on the first run; the provider's client, with its TLS context, is made
for the first turn. ``backend.serve`` calls this in the thread that loads the chat stack while
``/health`` already answers (``backend.web.deferred_app``).

Only what a text turn on the configured provider's path builds is built here: the validators of
every type reachable from the event unions (~450 of them) cost the idle server ~7 MB more than
a turn needs (``docs/performance.md``). A turn on the other path, after the provider is changed,
builds its own on the way (its first delta some tens of ms later, once).
``tests/backend/chat/test_warm_up.py`` runs a turn after the warm-up and fails, naming them, if
it still builds anything: the lists below follow the libraries.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

import pydantic
from agents import set_tracing_disabled
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartAdded,
    AssistantMessageContentPartDone,
    AssistantMessageItem,
    Thread,
    ThreadCreatedEvent,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadUpdatedEvent,
    UserMessageItem,
)
from openai.types.chat import ChatCompletionChunk, completion_create_params
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
    response_create_params,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from backend.chat import request_transform
from backend.chat.providers import ProviderNotConfigured, ProviderRegistry
from backend.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderPath:
    """What a turn on one provider path imports and builds on first use."""

    resources: tuple[tuple[str, str], ...]
    """What ``client.responses`` or ``client.chat.completions`` imports on first use."""
    models: tuple[type[pydantic.BaseModel], ...]
    """The provider's streamed events, and what the Agents SDK builds from them."""
    request_type: type


RESPONSE_EVENTS = (
    ResponseCreatedEvent,
    ResponseOutputItemAddedEvent,
    ResponseContentPartAddedEvent,
    ResponseTextDeltaEvent,
    ResponseContentPartDoneEvent,
    ResponseOutputItemDoneEvent,
    ResponseCompletedEvent,
    InputTokensDetails,
    OutputTokensDetails,
)
"""The Responses events of a text turn: parsed from the provider's stream on the Responses path,
built by the Agents SDK from the chunks on the Chat Completions path."""
RESPONSES = ProviderPath(
    (("openai.resources.responses", "AsyncResponses"),),
    (*RESPONSE_EVENTS, ResponseTextDoneEvent),
    response_create_params.ResponseCreateParamsStreaming,
)
CHAT_COMPLETIONS = ProviderPath(
    (("openai.resources.chat", "AsyncChat"), ("openai.resources.chat", "AsyncCompletions")),
    (
        *RESPONSE_EVENTS,
        ChatCompletionChunk,
        Response,
        ResponseOutputMessage,
        ResponseOutputText,
        ResponseUsage,
    ),
    completion_create_params.CompletionCreateParamsStreaming,
)
CHATKIT_MODELS = (
    Thread,
    ThreadMetadata,
    ThreadCreatedEvent,
    ThreadUpdatedEvent,
    ThreadItemAddedEvent,
    ThreadItemUpdatedEvent,
    ThreadItemDoneEvent,
    UserMessageItem,
    AssistantMessageItem,
    AssistantMessageContent,
    AssistantMessageContentPartAdded,
    AssistantMessageContentPartDone,
)
"""The ChatKit events and items of a text turn, built by ``backend.chat.reply`` and the SDK."""


def warm_up(providers: ProviderRegistry, settings: Settings) -> None:
    """Do now what the first turn would; a failure here is logged, never a reason not to start."""
    try:
        path = RESPONSES if providers.resolve(settings).uses_responses_api else CHAT_COMPLETIONS
        for module, name in path.resources:
            getattr(importlib.import_module(module), name)
        for model in (*path.models, *CHATKIT_MODELS):
            model.model_rebuild()
        request_transform.declares_transforms(path.request_type)
        set_tracing_disabled(True)  # every run has tracing off (RunConfig); this says so globally
        providers.build_agent(settings)
    except ProviderNotConfigured:
        pass  # no key yet: the first turn says how to add one
    except Exception:
        log.warning("warming up for the first turn failed; it will be slower", exc_info=True)
