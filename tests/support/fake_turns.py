"""What the fake provider answers to one request: text, tool calls, thoughts, and their usage.

A request is read the way a model would: the conversation so far (either wire format), the
user's last message, and the tool calls made since it with their outputs. Markers in the last
user message script the model:

- ``[tool:NAME {json}]``: call tool NAME with these arguments (several markers: parallel calls);
- ``[then]``: the calls after it come in the next step, once the earlier ones have answered;
- ``[loop:NAME {json}]``: call it again at every step, never answering (for the step bound);
- ``[reason]``: think first (when the request asks for reasoning summaries / thoughts);
- ``[noid]`` (Chat Completions in Gemini mode): calls without an ``id``;
- ``[received]``: answer with what the user's messages carried besides their text, per message
  (``image/jpeg 5120 B``, ``file report.pdf application/pdf 9000 B``, ``text notes.md``,
  ``named report.pdf``), so tests see each provider's format and the history budget.

Once every scripted call has an output, the answer quotes them: ``Tool results: NAME → output;
…``. The plain answer (no markers) is unchanged: ``You said: …``, plus what the model was told
of earlier turns' tool calls.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_HIDDEN = "Hidden context for the agent"
TOOL_HISTORY = "Tools I called at this point of the conversation"
XSS_REPLY = 'Here: <img src=x onerror="window.__xss=1"> and <script>window.__xss=2</script> done.'
SEND_TIME = "@T@"
_CALL = re.compile(r"\[(tool|loop):([\w.-]+)(?: (\{[^{}]*\}))?\]")
THOUGHTS = ("Weighing what was asked first.", "Then choosing the shortest way to answer it.")


@dataclass(frozen=True)
class Call:
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolOutput:
    name: str
    output: str


@dataclass
class Request:
    """A request to the model, reduced to what the script depends on."""

    messages: list[tuple[str, str]] = field(default_factory=list)
    """(role, text) of user and assistant messages, oldest first, instructions excluded."""
    outputs: list[ToolOutput] = field(default_factory=list)
    """The tool calls answered since the last user message."""
    calls_replayed: list[dict[str, Any]] = field(default_factory=list)
    """Chat Completions: the assistant's earlier ``tool_calls`` as they were sent back."""
    received: list[list[str]] = field(default_factory=list)
    """Per user message, oldest first: its parts other than typed text, described."""

    @property
    def users(self) -> list[str]:
        return [
            text for role, text in self.messages if role == "user" and not text.startswith(_HIDDEN)
        ]

    @property
    def last_user(self) -> str:
        users = self.users
        return users[-1] if users else ""

    @property
    def tool_history(self) -> list[str]:
        """What the model was told, in its own voice, of the tools it called in earlier turns."""
        return [
            text
            for role, text in self.messages
            if role == "assistant" and text.startswith(TOOL_HISTORY)
        ]


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def describe_parts(content: Any) -> list[str]:
    """What a user message carried besides typed text, in either wire format."""
    found: list[str] = []
    for part in content if isinstance(content, list) else ():
        kind = part.get("type")
        if kind in ("input_text", "text"):
            text = part.get("text", "")
            if match := re.match(r'<file name="([^"]+)"', text):
                found.append(f"text {match.group(1)}")
            elif match := re.match(r"\[Earlier attachment: (.+?) \(", text):
                found.append(f"named {match.group(1)}")
        elif kind == "input_image":
            found.append(_data_url(part.get("image_url", "")))
        elif kind == "image_url":
            found.append(_data_url(part["image_url"]["url"]))
        elif kind == "input_file":
            found.append(f"file {part.get('filename')} {_data_url(part.get('file_data', ''))}")
        elif kind == "file":
            file = part["file"]
            found.append(f"file {file.get('filename')} {_data_url(file.get('file_data', ''))}")
        else:
            found.append(f"unknown part {kind}")
    return found


def _data_url(url: str) -> str:
    """``image/png 68 B`` for a base64 data URL.

    The size is worked out from the length, not by decoding: every request's history passes
    through here, and decoding a 5 MB PDF took the fake ~40 ms per turn, which the attachment
    bench would have counted as the server's.
    """
    match = re.match(r"data:([^;,]+);base64,", url)
    if not match:
        return f"not a data URL ({url[:30]})"
    encoded = len(url) - match.end()
    size = encoded // 4 * 3 - url[-2:].count("=") if encoded % 4 == 0 else -1
    return f"{match.group(1)} {size} B" if size >= 0 else f"not base64 ({url[:30]})"


def read_request(body: dict[str, Any]) -> Request:
    """The conversation in a Responses ``input`` or a Chat Completions ``messages`` body."""
    request = Request()
    names: dict[str, str] = {}
    if "messages" in body:
        for message in body["messages"]:
            role = message.get("role")
            if role in ("user", "assistant"):
                if role == "user":
                    request.outputs.clear()
                    request.calls_replayed.clear()
                    request.received.append(describe_parts(message.get("content")))
                if message.get("content"):
                    request.messages.append((role, text_of(message["content"])))
                for call in message.get("tool_calls") or ():
                    names[call["id"]] = call["function"]["name"]
                    request.calls_replayed.append(call)
            elif role == "tool":
                name = names.get(message.get("tool_call_id"), "?")
                request.outputs.append(ToolOutput(name, text_of(message.get("content"))))
        return request
    raw = body.get("input", [])
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
    for item in items:
        kind = item.get("type", "message")
        if kind == "message" and item.get("role") in ("user", "assistant"):
            if item["role"] == "user":
                request.outputs.clear()
                request.received.append(describe_parts(item.get("content")))
            request.messages.append((item["role"], text_of(item.get("content"))))
        elif kind == "function_call":
            names[item["call_id"]] = item["name"]
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else text_of(output)
            request.outputs.append(ToolOutput(names.get(item["call_id"], "?"), text))
    return request


def scripted_steps(last_user: str) -> tuple[list[list[Call]], Call | None]:
    """The steps of calls the last message asks for, and the call to repeat forever if any."""
    steps: list[list[Call]] = []
    loop: Call | None = None
    for part in last_user.split("[then]"):
        step = []
        for kind, name, arguments in _CALL.findall(part):
            call = Call(name, arguments or "{}")
            if kind == "loop":
                loop = call
            else:
                step.append(call)
        if step:
            steps.append(step)
    return steps, loop


def next_calls(request: Request) -> list[Call]:
    """The calls to make now: the next scripted step, or none (time to answer)."""
    steps, loop = scripted_steps(request.last_user)
    if loop is not None:
        return [loop]
    answered = len(request.outputs)
    made = 0
    for step in steps:
        if made == answered:
            return step
        made += len(step)
    return []


def answer_text(request: Request, instructions: str) -> str:
    """The text answer, once no call is left to make."""
    last = request.last_user
    if request.outputs:
        results = "; ".join(f"{o.name} → {o.output[:200]}" for o in request.outputs)
        return f"Tool results: {results}."
    if "[xss]" in last:
        return XSS_REPLY
    if "[received]" in last:
        told = [" + ".join(parts) for parts in request.received if parts]
        return "Received: " + (" | ".join(told) or "nothing but text") + "."
    if match := re.search(r"\[bench:(\d+):(\d+)\]", last):
        return " ".join(SEND_TIME for _ in range(int(match.group(1))))
    if match := re.search(r"\[words:(\d+)\]", last):
        return " ".join(f"w{i}" for i in range(int(match.group(1))))
    if "[slow]" in last:
        return " ".join(f"slow{i}" for i in range(40))
    if "[instructions]" in last:
        return f"My instructions are: {instructions}"
    users = request.users
    replies = [
        text
        for role, text in request.messages
        if role == "assistant" and not text.startswith(TOOL_HISTORY)
    ]
    earlier = f"Earlier you said: {users[-2]}." if len(users) > 1 else "This is our first exchange."
    reply = f"You said: {last}. {earlier} I have seen {len(replies)} earlier replies."
    if history := request.tool_history:
        told = history[-1].splitlines()[1:]
        reply += f" I was told of earlier tool calls: {' '.join(told)}"
    return reply


def wants_thoughts(body: dict[str, Any], last_user: str) -> bool:
    """``[reason]`` and the request asks for thoughts the way each API does."""
    if "[reason]" not in last_user:
        return False
    if "messages" in body:
        google = ((body.get("extra_body") or {}).get("google") or {}).get("thinking_config") or {}
        return bool(google.get("include_thoughts"))
    return bool((body.get("reasoning") or {}).get("summary"))


def words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


@dataclass(frozen=True)
class Usage:
    """What one response bills: deterministic, so tests can add it up."""

    input: int
    cached: int
    output: int
    reasoning: int

    @classmethod
    def of(cls, body: dict[str, Any], output_text: str, thought: bool) -> Usage:
        sent = _json_size(body.get("input") or body.get("messages") or [])
        input_tokens = 10 + sent // 100
        cached = (input_tokens // 2) if sent > 400 else 0
        reasoning = 7 if thought else 0
        return cls(input_tokens, cached, len(words(output_text)) + reasoning, reasoning)


def _json_size(value: Any) -> int:
    """``len(json.dumps(value))``, without copying long strings: the Chat Completions fake needs
    it before its first chunk, and serializing a 5 MB PDF's data URL took ~30 ms, which the
    attachment bench would count as the server's. Exact for everything but those long strings
    (data URLs: ASCII, nothing to escape)."""
    if isinstance(value, str) and len(value) > 10_000:
        return len(value) + 2
    if isinstance(value, dict):
        entries = sum(len(json.dumps(key)) + 2 + _json_size(item) for key, item in value.items())
        return 2 + entries + 2 * max(len(value) - 1, 0)
    if isinstance(value, list):
        return 2 + sum(_json_size(item) for item in value) + 2 * max(len(value) - 1, 0)
    return len(json.dumps(value))
