"""The request-transform fast path sends exactly what the library's walk would, and is used."""

from __future__ import annotations

import datetime
import json

import httpx2
import pytest
from openai import omit
from openai._utils import _transform as library
from openai.types.beta.agent_create_params import AgentCreateParams
from openai.types.chat.completion_create_params import CompletionCreateParamsStreaming
from openai.types.responses.response_create_params import ResponseCreateParamsStreaming
from pydantic import BaseModel

from backend.chat import request_transform
from backend.chat.openai_client import DeskOpenAI


def responses_body(turns: int) -> dict:
    """A Responses request as the Agents SDK builds it for a long text chat."""
    items: list[dict] = []
    for turn in range(turns):
        items.append({"role": "user", "content": [{"type": "input_text", "text": f"q{turn}"}]})
        items.append(
            {
                "id": f"msg_{turn}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": f"a{turn}", "annotations": []}],
            }
        )
    items.append({"type": "function_call_output", "call_id": "c1", "output": "42"})
    return {
        "input": items,
        "model": "gpt-test",
        "instructions": "Be brief.",
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "metadata": {"k": "v"},
        "reasoning": {"effort": "low", "summary": None},
        "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}},
        "tools": [{"type": "function", "name": "f", "parameters": {}, "strict": True}],
        "temperature": omit,
        "top_p": omit,
        "store": omit,
    }


def chat_body(turns: int) -> dict:
    messages: list[dict] = [{"role": "system", "content": "Be brief."}]
    for turn in range(turns):
        messages.append({"role": "user", "content": f"q{turn}"})
        messages.append({"role": "assistant", "content": f"a{turn}"})
    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        }
    )
    return {
        "messages": messages,
        "model": "gemini-test",
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": omit,
        "tools": omit,
    }


async def library_transform(data: object, expected_type: object) -> object:
    return await request_transform._library_async_transform(data, expected_type)


@pytest.mark.parametrize(
    ("body", "params"),
    [
        (responses_body(0), ResponseCreateParamsStreaming),
        (responses_body(20), ResponseCreateParamsStreaming),
        (chat_body(0), CompletionCreateParamsStreaming),
        (chat_body(20), CompletionCreateParamsStreaming),
    ],
)
async def test_same_body_as_the_library(body: dict, params: type) -> None:
    fast = await request_transform.async_transform(body, params)
    assert fast == await library_transform(body, params)
    assert "temperature" not in fast


async def test_a_type_with_an_alias_goes_through_the_library() -> None:
    assert request_transform.declares_transforms(AgentCreateParams)  # Compaction.async_ → async
    body = {"compaction": {"async_": True}}
    assert await request_transform.async_transform(body, AgentCreateParams) == {
        "compaction": {"async": True}
    }


class Part(BaseModel):
    type: str = "input_text"
    text: str = "from a model"


@pytest.mark.parametrize(
    "odd_value",
    [
        Part(),  # a pydantic model: the library dumps it
        ({"type": "input_text", "text": "in a tuple"},),  # an iterable that is not a list
        {"nested": omit},  # an unset value deeper down
        datetime.datetime(2026, 1, 1),
    ],
)
async def test_data_that_is_not_plain_json_goes_through_the_library(odd_value: object) -> None:
    body = {"model": "m", "stream": True, "input": [{"role": "user", "content": [odd_value]}]}
    assert not request_transform.is_plain_json(body)
    assert await request_transform.async_transform(
        body, ResponseCreateParamsStreaming
    ) == await library_transform(body, ResponseCreateParamsStreaming)


async def test_the_client_sends_the_body_through_the_fast_path(monkeypatch) -> None:
    calls: list[object] = []
    fast_path: list[object] = []

    async def library_walk(data: object, expected_type: object) -> object:
        calls.append(expected_type)
        raise AssertionError("the library's walk was used for a plain request")

    async def counted(data: object, expected_type: object) -> object:
        fast_path.append(expected_type)
        return await request_transform.async_transform(data, expected_type)

    monkeypatch.setattr(request_transform, "_library_async_transform", library_walk)
    monkeypatch.setattr(library, "async_transform", library.async_transform)  # undone after
    request_transform.install()
    assert library.async_transform is request_transform.async_transform
    monkeypatch.setattr(library, "async_transform", counted)
    sent: list[dict] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        return httpx2.Response(400, json={"error": {"message": "stop here"}})

    client = DeskOpenAI(
        api_key="x",
        base_url="http://127.0.0.1:9/v1",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(answer)),
    )
    body = responses_body(2)
    with pytest.raises(Exception, match="stop here"):
        await client.responses.create(
            **{k: v for k, v in body.items() if k not in ("temperature", "top_p", "store")}
        )
    assert fast_path, "openai's resources no longer reach _transform.async_transform"
    assert sent and sent[0]["input"] == body["input"]
    assert calls == []
