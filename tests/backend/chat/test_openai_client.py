"""The fast event parsing builds exactly what the openai library would, and is really used."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2
import pytest
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from backend.chat.openai_client import DeskOpenAI, fast_parse

RESPONSE_EVENTS = [
    {
        "type": "response.output_text.delta",
        "sequence_number": 3,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hel",
        "logprobs": [],
    },
    {
        "type": "response.output_item.added",
        "sequence_number": 1,
        "output_index": 0,
        "item": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        },
    },
    {
        "type": "response.content_part.added",
        "sequence_number": 2,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "output_text", "text": "", "annotations": []},
    },
]
CHUNKS = [
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}
        ],
    },
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    },
]


def library_parse(data: dict, cast_to: object) -> object:
    client = DeskOpenAI(api_key="x", base_url="http://127.0.0.1:9/v1")
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/x")
    return super(DeskOpenAI, client)._process_response_data(
        data=data, cast_to=cast_to, response=httpx2.Response(200, request=request)
    )


@pytest.mark.parametrize(
    ("data", "cast_to"),
    [(e, ResponseStreamEvent) for e in RESPONSE_EVENTS]
    + [(c, ChatCompletionChunk) for c in CHUNKS],
)
def test_same_objects_as_the_library(data: dict, cast_to: object) -> None:
    fast = fast_parse(data, cast_to)
    slow = library_parse(data, cast_to)
    assert fast is not None
    assert type(fast) is type(slow)
    assert fast.model_dump() == slow.model_dump()


def test_data_off_the_schema_goes_down_the_library_path() -> None:
    odd = {"type": "response.output_text.delta", "delta": 5}
    assert fast_parse(odd, ResponseStreamEvent) is None
    assert fast_parse({"type": "response.from_the_future"}, ResponseStreamEvent) is None
    assert fast_parse(RESPONSE_EVENTS[0], dict) is None
    assert type(library_parse(odd, ResponseStreamEvent)).__name__ == "ResponseTextDeltaEvent"


async def decode_two_chunks(streams_open_beside: int) -> list[str]:
    """What happens in which order: chunks read, and (scheduled on the event loop) relayed."""
    order: list[str] = []

    async def chunks() -> AsyncIterator[bytes]:
        for number in range(2):
            order.append(f"read {number}")
            yield f"data: {number}\n\n".encode()

    client = DeskOpenAI(api_key="x", base_url="http://127.0.0.1:9/v1")
    others = [client._make_sse_decoder().aiter_bytes(chunks()) for _ in range(streams_open_beside)]
    for other in others:
        await anext(aiter(other))  # opens that stream
    async for event in client._make_sse_decoder().aiter_bytes(chunks()):
        asyncio.get_running_loop().call_soon(order.append, f"relayed {event.data}")
    await asyncio.sleep(0)
    mine = order[streams_open_beside:]
    for other in others:  # to its end, which closes it
        async for _ in other:
            pass
    return mine


async def test_a_lone_stream_relays_each_chunk_before_reading_the_next() -> None:
    """Whoever awaits an event (the turn's task, behind the Agents SDK's queue) runs before the
    stream reads on: otherwise it waits for that read on every delta."""
    assert await decode_two_chunks(0) == ["read 0", "relayed 0", "read 1", "relayed 1"]


async def test_beside_other_streams_reads_follow_each_other() -> None:
    """Under load, a turn of the event loop per chunk costs more than it saves."""
    assert await decode_two_chunks(1) == ["read 0", "read 1", "relayed 0", "relayed 1"]
