"""The OpenAI client as ChatKit Desk uses it: fast event parsing, and how each stream ended.

(Requests skip the library's no-op transform walk too: ``backend.serve`` installs
``backend.chat.request_transform`` for the process.)

**Fast parsing.**
For every streamed event the openai library (non-strict mode) calls ``construct_type``: for the
Responses event union that first validates the data against all ~50 variants in turn and for a
Chat Completions chunk it walks the model field by field in Python — 50–100 µs per token, the
largest single cost of relaying a token here (see ``bench/``). Both have a cheap exact answer:
the event's ``type`` names its class, and pydantic's compiled validator builds it in ~3 µs.

Data that does not validate (a provider that bends the schema) goes down the library's own
loose path unchanged, so the objects are those the library would have built either way. The
override point is a private method of the pinned openai version; ``tests/backend`` checks it
is still called and still agrees with the library.

**How the stream ended.** A provider that stops sending without a finish reason (Chat
Completions) or a ``response.completed`` (Responses) has cut the answer short, yet on
non-OpenAI URLs the Agents SDK accepts such a stream as complete. The client notes each
ending it sees in the turn's ``StreamEnding`` (a context variable set by the turn, inherited
by the run's task), so the turn can mark a truncated answer as incomplete.

**Chunks repaired.** What Gemini's compatible endpoint gets wrong in Chat Completions chunks
(tool calls without index or id, thoughts in the answer text) is put right before the chunk is
parsed: ``backend.chat.chunk_repairs``.

**Each event relayed before the next read.** The Agents SDK's run loop (its own task) puts each
event in a queue for the turn's task and goes straight back for the next one: through openai's
stream and httpx down to a socket read that finds nothing. Only then does the loop run the turn's
task, which relays the event. While it is the only stream, the decoder yields to the event loop
after each chunk's events, so the turn's task relays them before the next read. Not with more
streams: under load, reads that follow each other batch the work, and a turn of the loop per
chunk nearly doubled the CPU per delta at 50 streams (``docs/performance.md``).
"""

from __future__ import annotations

import asyncio
import typing
import weakref
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pydantic
from openai import AsyncOpenAI
from openai._streaming import ServerSentEvent, SSEDecoder
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from backend.chat.chunk_repairs import StreamRepairs


def _variants_by_type(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    members = typing.get_args(typing.get_args(union)[0])  # Annotated[Union[...], ...]
    variants: dict[str, type[pydantic.BaseModel]] = {}
    for member in members:
        for literal in typing.get_args(member.model_fields["type"].annotation):
            variants[literal] = member
    return variants


_RESPONSE_EVENTS = _variants_by_type(ResponseStreamEvent)
_RESPONSE_ENDINGS = {"response.completed": True, "response.incomplete": False}


@dataclass
class StreamEnding:
    finished: bool = False
    """A finish reason or a ``response.completed`` arrived."""
    cut_short: bool = False
    """The provider said it stopped early (``response.incomplete``, ``finish_reason: length``)."""

    @property
    def complete(self) -> bool:
        return self.finished and not self.cut_short

    def note(self, data: dict[str, Any], cast_to: object) -> None:
        if cast_to is ChatCompletionChunk:
            for choice in data.get("choices") or ():
                reason = choice.get("finish_reason") if isinstance(choice, dict) else None
                if reason:
                    self.finished = True
                    self.cut_short = self.cut_short or reason == "length"
        elif (ending := _RESPONSE_ENDINGS.get(data.get("type"))) is not None:  # type: ignore[arg-type]
            self.finished = True
            self.cut_short = self.cut_short or not ending


current_stream_ending: ContextVar[StreamEnding | None] = ContextVar(
    "current_stream_ending", default=None
)


def fast_parse(data: object, cast_to: object) -> Any | None:
    """The streamed event as its exact class, or ``None`` to let the library decide."""
    if not isinstance(data, dict):
        return None
    if cast_to is ResponseStreamEvent:
        variant = _RESPONSE_EVENTS.get(data.get("type"))  # type: ignore[arg-type]
    elif cast_to is ChatCompletionChunk:
        variant = ChatCompletionChunk
    else:
        return None
    if variant is None:
        return None
    try:
        return variant.model_validate(data)
    except pydantic.ValidationError:
        return None


class _RelayFirstDecoder(SSEDecoder):
    def aiter_bytes(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[ServerSentEvent]:
        return super().aiter_bytes(_relay_first(iterator))


_streams = 0
"""Provider streams open in this process (the event loop's thread is the only one streaming)."""


async def _relay_first(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks; while this is the only stream, the events of each are relayed before the
    next one is read."""
    global _streams
    _streams += 1
    try:
        async for chunk in chunks:
            yield chunk
            if _streams == 1:
                await asyncio.sleep(0)
    finally:
        _streams -= 1


_repairs: weakref.WeakKeyDictionary[Any, StreamRepairs] = weakref.WeakKeyDictionary()
"""Each Chat Completions stream's repair state, by its HTTP response (gone with it)."""


class DeskOpenAI(AsyncOpenAI):
    def _make_sse_decoder(self) -> SSEDecoder:
        return _RelayFirstDecoder()

    def _process_response_data(self, *, data: object, cast_to: Any, response: Any) -> Any:
        if cast_to is ChatCompletionChunk and isinstance(data, dict):
            repairs = _repairs.get(response)
            if repairs is None:
                repairs = _repairs[response] = StreamRepairs()
            repairs.chunk(data)
        ending = current_stream_ending.get()
        if ending is not None and isinstance(data, dict):
            ending.note(data, cast_to)
        parsed = fast_parse(data, cast_to)
        if parsed is not None:
            return parsed
        return super()._process_response_data(data=data, cast_to=cast_to, response=response)
