"""Pay the chat stack's one-time costs while the server starts, not on the user's first message.

The first turn in a fresh process took ~300 ms longer than the ones after it (``bench/``: first
message after start): openai imports its API resources when a client first uses them; pydantic
builds the validator of each openai and ChatKit type the first time one is made; the Agents SDK
sets up its trace provider, and openai's request types are checked for transforms
(``request_transform``), on the first run; the provider's client, with its TLS context, is made
for the first turn. ``backend.serve`` calls this in the thread that loads the chat stack while
``/health`` already answers (``backend.web.deferred_app``).
"""

from __future__ import annotations

import importlib
import logging
import typing
from collections.abc import Iterator

import pydantic
from agents import set_tracing_disabled
from chatkit.types import Thread, ThreadItem, ThreadStreamEvent
from openai.types.chat import ChatCompletionChunk, completion_create_params
from openai.types.responses import ResponseStreamEvent, response_create_params

from backend.chat import request_transform
from backend.chat.providers import ProviderNotConfigured, ProviderRegistry
from backend.settings import Settings

log = logging.getLogger(__name__)

LAZY_OPENAI_RESOURCES = (
    ("openai.resources.responses", "AsyncResponses"),
    ("openai.resources.chat", "AsyncChat"),
    ("openai.resources.chat", "AsyncCompletions"),
)
"""What ``client.responses`` and ``client.chat.completions`` import on first use."""

TYPES_OF_A_TURN = (ResponseStreamEvent, ChatCompletionChunk, ThreadStreamEvent, ThreadItem, Thread)
"""What a turn parses and builds: streamed provider events, ChatKit events and items."""

REQUEST_TYPES = (
    response_create_params.ResponseCreateParamsStreaming,
    completion_create_params.CompletionCreateParamsStreaming,
)


def warm_up(providers: ProviderRegistry, settings: Settings) -> None:
    """Do now what the first turn would; a failure here is logged, never a reason not to start."""
    try:
        for module, name in LAZY_OPENAI_RESOURCES:
            getattr(importlib.import_module(module), name)
        for model in models_in(TYPES_OF_A_TURN):
            model.model_rebuild()
        for request_type in REQUEST_TYPES:
            request_transform.declares_transforms(request_type)
        set_tracing_disabled(True)  # every run has tracing off (RunConfig); this says so globally
        providers.build_agent(settings)
    except ProviderNotConfigured:
        pass  # no key yet: the first turn says how to add one
    except Exception:
        log.warning("warming up for the first turn failed; it will be slower", exc_info=True)


def models_in(annotations: typing.Iterable[object]) -> Iterator[type[pydantic.BaseModel]]:
    """Every pydantic model in these annotations, and in their models' fields, once each.

    Lazy on purpose: a model's fields are read only after the caller has had it, so rebuilding
    each model as it comes also resolves the forward references in its fields.
    """
    pending, seen = list(annotations), set()
    while pending:
        annotation = pending.pop()
        if id(annotation) in seen:
            continue
        seen.add(id(annotation))
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            yield annotation
            pending.extend(field.annotation for field in annotation.model_fields.values())
        else:
            pending.extend(typing.get_args(annotation))
