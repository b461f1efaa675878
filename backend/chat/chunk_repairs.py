"""Chat Completions chunks as the Agents SDK needs them, whatever Gemini's endpoint sends.

Gemini's OpenAI-compatible endpoint bends the streaming format in ways the Agents SDK takes at
face value (``../shared/reference``, and reproduced by the tests' fake provider):

* parallel tool calls arrive in one chunk **without** ``index`` (or all with ``index: 0``): the
  SDK keys calls by index and merges them into one bogus call;
* a call may come **without** ``id``: the SDK refuses to run it (``ModelBehaviorError``);
* with thoughts requested, they arrive **inside** ``delta.content`` as ``<thought>…</thought>``,
  marked ``extra_content.google.thought``: the SDK would show and store them as the answer.

Each chunk is repaired in place before it is parsed (``DeskOpenAI``), with a little state per
stream: calls get the index and id they lack, thoughts move to ``reasoning_content`` (which the
SDK turns into reasoning summary events). A chunk that needs nothing is only looked at.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

THOUGHT_OPEN = "<thought>"
THOUGHT_CLOSE = "</thought>"


@dataclass
class StreamRepairs:
    """What one stream has said so far that later chunks depend on."""

    calls: int = 0
    id_at: dict[int, str] = field(default_factory=dict)
    last_index: int | None = None
    in_thought: bool = False

    def chunk(self, data: dict[str, Any]) -> None:
        for choice in data.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                continue
            if delta.get("tool_calls"):
                self._calls(delta["tool_calls"])
            if self.in_thought or _is_thought(delta):
                self._thought(delta)

    def _calls(self, calls: list[Any]) -> None:
        for call in calls:
            if not isinstance(call, dict):
                continue
            function = call.get("function") if isinstance(call.get("function"), dict) else {}
            starts = bool(call.get("id") or function.get("name"))
            index = call.get("index")
            if starts and (
                index is None or self.id_at.get(index, call.get("id")) != call.get("id")
            ):
                index = self.calls  # a new call, whatever index it was (not) given
            elif index is None:
                index = self.last_index if self.last_index is not None else self.calls
            if starts and not call.get("id"):
                call["id"] = f"call_{uuid.uuid4().hex[:24]}"
            call["index"] = index
            if starts:
                self.id_at[index] = call["id"]
            self.calls = max(self.calls, index + 1)
            self.last_index = index

    def _thought(self, delta: dict[str, Any]) -> None:
        text = delta.get("content")
        if not isinstance(text, str):
            return
        if text.startswith(THOUGHT_OPEN):
            text = text[len(THOUGHT_OPEN) :]
            self.in_thought = True
        thought, closed, answer = text.partition(THOUGHT_CLOSE)
        self.in_thought = not closed
        if thought:
            delta["reasoning_content"] = (delta.get("reasoning_content") or "") + thought
        delta["content"] = answer.lstrip() if closed else None


def _is_thought(delta: dict[str, Any]) -> bool:
    extra = delta.get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    return isinstance(google, dict) and google.get("thought") is True
