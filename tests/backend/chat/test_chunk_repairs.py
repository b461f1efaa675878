"""Gemini's Chat Completions chunks put right before the Agents SDK parses them."""

from __future__ import annotations

from typing import Any

from backend.chat.chunk_repairs import StreamRepairs


def chunk(**delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def call(name: str | None = None, arguments: str = "", **extra: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    if name is not None:
        function["name"] = name
    return {"type": "function", "function": function, **extra}


def calls_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["choices"][0]["delta"]["tool_calls"]


def test_parallel_calls_without_an_index_get_one_each() -> None:
    data = chunk(tool_calls=[call("a", '{"x":1}', id="c1"), call("b", '{"y":2}', id="c2")])
    StreamRepairs().chunk(data)
    assert [(c["index"], c["id"]) for c in calls_of(data)] == [(0, "c1"), (1, "c2")]


def test_parallel_calls_all_at_index_zero_are_told_apart_by_their_ids() -> None:
    data = chunk(tool_calls=[call("a", id="c1", index=0), call("b", id="c2", index=0)])
    StreamRepairs().chunk(data)
    assert [c["index"] for c in calls_of(data)] == [0, 1]


def test_a_call_without_an_id_gets_one() -> None:
    data = chunk(tool_calls=[call("a", "{}"), call("b", "{}")])
    StreamRepairs().chunk(data)
    ids = [c["id"] for c in calls_of(data)]
    assert all(i.startswith("call_") for i in ids) and len(set(ids)) == 2


def test_a_well_formed_stream_is_left_as_it_was() -> None:
    repairs = StreamRepairs()
    first = chunk(tool_calls=[call("a", "", id="c1", index=0)])
    rest = chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"x":1}'}}])
    second = chunk(tool_calls=[call("b", "", id="c2", index=1)])
    for data in (first, rest, second):
        repairs.chunk(data)
    assert calls_of(first)[0] == call("a", "", id="c1", index=0)
    assert calls_of(rest)[0] == {"index": 0, "function": {"arguments": '{"x":1}'}}
    assert calls_of(second)[0]["index"] == 1


def test_arguments_continued_without_an_index_stay_with_their_call() -> None:
    repairs = StreamRepairs()
    repairs.chunk(chunk(tool_calls=[call("a", '{"x":', id="c1")]))
    continued = chunk(tool_calls=[{"function": {"arguments": "1}"}}])
    repairs.chunk(continued)
    assert calls_of(continued)[0]["index"] == 0


def test_thoughts_move_out_of_the_answer() -> None:
    thought = {"extra_content": {"google": {"thought": True}}}
    repairs = StreamRepairs()
    opening = chunk(content="<thought>Let me see", **thought)
    middle = chunk(content=" more.", **thought)
    closing = chunk(content="</thought>The answer")
    after = chunk(content=" is 4.")
    for data in (opening, middle, closing, after):
        repairs.chunk(data)
    deltas = [d["choices"][0]["delta"] for d in (opening, middle, closing, after)]
    assert [d.get("reasoning_content") for d in deltas] == ["Let me see", " more.", None, None]
    assert [d.get("content") for d in deltas] == [None, None, "The answer", " is 4."]
