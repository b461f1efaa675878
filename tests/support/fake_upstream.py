"""A fake OpenAI-compatible provider on a loopback port, speaking the real streaming wire formats.

``POST /v1/responses`` streams Responses API events (``event:``/``data:`` frames with
``sequence_number``), ``POST /v1/chat/completions`` streams Chat Completions chunks ending in
``[DONE]`` (with a usage chunk when asked), ``GET /v1/models`` lists models.

The reply is deterministic and shows what the model was sent, so tests can check multi-turn
history: ``You said: <last>. Earlier you said: <previous>. I have seen <n> earlier replies.``

Faults are chosen by a marker in the last user message:
``[401]`` ``[429]`` (with Retry-After) ``[500]``: that HTTP error;
``[cut]``: a few words, then the connection drops; ``[hang]``: a few words, then silence;
``[hang-first]``: headers, then silence; ``[slow]``: 40 words, 50 ms apart;
``[hold:NAME]``: a few words, then nothing until the test calls ``release("NAME")``;
``[truncate]``: the words, then a clean end with no finish reason / no ``response.completed``;
``[xss]``: a reply with HTML in it; ``[words:N]``: N words as fast as possible;
``[bench:N:R]``: N words at R words/s (0: as fast as possible), each word the wall-clock time
(``time.time_ns()``) at which it was sent, so a client can measure relay latency.
A key starting with ``sk-bad`` is always refused with 401.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODELS = ["fake-gpt", "fake-gemini", "fake-mini"]
XSS_REPLY = 'Here: <img src=x onerror="window.__xss=1"> and <script>window.__xss=2</script> done.'
_HIDDEN = "Hidden context for the agent"
SEND_TIME = "@T@"
_SEND_TIME = SEND_TIME.encode()


@dataclass
class RecordedRequest:
    path: str
    authorization: str
    body: dict[str, Any]
    client_port: int = 0
    """The local port of the caller's connection: the same port means a reused connection."""
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class UpstreamState:
    requests: list[RecordedRequest] = field(default_factory=list)
    streams_started: int = 0
    streams_finished: int = 0
    streams_abandoned: int = 0
    """Streams whose client went away before the reply was complete."""

    def user_texts(self) -> list[str]:
        return [_last_user_text(_conversation(r.body)) for r in self.requests if r.body]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _conversation(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) pairs of what the model was sent, system/instructions excluded."""
    messages = body.get("messages")
    if messages is None:
        raw_input = body.get("input", [])
        messages = (
            [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input
        )
    pairs = []
    for message in messages:
        role = message.get("role")
        if role in ("user", "assistant"):
            pairs.append((role, _text_of(message.get("content"))))
    return pairs


def _last_user_text(pairs: list[tuple[str, str]]) -> str:
    users = [text for role, text in pairs if role == "user" and not text.startswith(_HIDDEN)]
    return users[-1] if users else ""


def _reply_for(pairs: list[tuple[str, str]], instructions: str) -> str:
    users = [text for role, text in pairs if role == "user" and not text.startswith(_HIDDEN)]
    replies = [text for role, text in pairs if role == "assistant"]
    last = users[-1] if users else ""
    if "[xss]" in last:
        return XSS_REPLY
    if match := re.search(r"\[bench:(\d+):(\d+)\]", last):
        return " ".join(SEND_TIME for _ in range(int(match.group(1))))
    if match := re.search(r"\[words:(\d+)\]", last):
        return " ".join(f"w{i}" for i in range(int(match.group(1))))
    if "[slow]" in last:
        return " ".join(f"slow{i}" for i in range(40))
    if "[instructions]" in last:
        return f"My instructions are: {instructions}"
    earlier = f"Earlier you said: {users[-2]}." if len(users) > 1 else "This is our first exchange."
    return f"You said: {last}. {earlier} I have seen {len(replies)} earlier replies."


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


class FakeUpstream:
    """``idle_timeout``: how long an idle keep-alive connection stays open (uvicorn's default is
    5 s; real providers keep theirs longer, and the benchmark models that with 75 s)."""

    def __init__(self, idle_timeout: int = 5) -> None:
        self.idle_timeout = idle_timeout
        self.state = UpstreamState()
        self.expected_key: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._held: dict[str, threading.Event] = {}
        self.app = Starlette(
            routes=[
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # Life cycle

    @property
    def port(self) -> int:
        assert self._socket is not None
        return self._socket.getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def open_connections(self) -> int:
        """Client connections open right now, busy or idle."""
        return len(self._server.server_state.connections)

    def start(self) -> FakeUpstream:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_keep_alive=self.idle_timeout,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake upstream did not start")
            time.sleep(0.01)
        return self

    def run_forever(self, port: int) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_keep_alive=self.idle_timeout,
        )
        uvicorn.Server(config).run()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reset(self) -> None:
        self.state = UpstreamState()

    def _hold(self, name: str) -> threading.Event:
        return self._held.setdefault(name, threading.Event())

    def release(self, name: str) -> None:
        """Let the streams marked ``[hold:name]`` go on to their end."""
        self._hold(name).set()

    # Shared request handling

    async def _admit(self, request: Request) -> tuple[dict[str, Any], str, Response | None]:
        body = await request.json()
        authorization = request.headers.get("authorization", "")
        port = request.client.port if request.client else 0
        self.state.requests.append(RecordedRequest(request.url.path, authorization, body, port))
        key = authorization.removeprefix("Bearer ").strip()
        pairs = _conversation(body)
        last = _last_user_text(pairs)
        if (
            key.startswith("sk-bad")
            or "[401]" in last
            or (self.expected_key is not None and key != self.expected_key)
        ):
            return body, last, _error(401, "Incorrect API key provided.", "invalid_api_key")
        if "[429]" in last:
            return (
                body,
                last,
                _error(
                    429,
                    "Rate limit reached for requests.",
                    "rate_limit_exceeded",
                    {"retry-after": "1"},
                ),
            )
        if "[500]" in last:
            return body, last, _error(500, "The server had an error.", "server_error")
        return body, last, None

    async def _paced(self, last: str, frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Apply the timing faults to a stream of frames, and count how streams end."""
        self.state.streams_started += 1
        sent_words = 0
        finished = False
        bench = re.search(r"\[bench:\d+:(\d+)\]", last)
        hold = re.search(r"\[hold:([\w-]+)\]", last)
        pause = 1 / int(bench.group(1)) if bench and int(bench.group(1)) else 0.0
        try:
            if "[hang-first]" in last:
                await asyncio.sleep(3600)
            async for chunk in frames:
                is_word = b"delta" in chunk
                if is_word:
                    sent_words += 1
                    if bench:
                        if pause:
                            await asyncio.sleep(pause)
                        chunk = chunk.replace(_SEND_TIME, str(time.time_ns()).encode())
                    if "[slow]" in last:
                        await asyncio.sleep(0.05)
                    if sent_words > 3 and "[cut]" in last:
                        await asyncio.sleep(
                            1
                        )  # let the words already sent be read before the reset
                        raise ConnectionAbortedError("fake upstream cut the stream")
                    if sent_words > 3 and "[hang]" in last:
                        await asyncio.sleep(3600)
                    if sent_words == 4 and hold:
                        await asyncio.to_thread(self._hold(hold.group(1)).wait, 300)
                yield chunk
            finished = True
        finally:
            if finished:
                self.state.streams_finished += 1
            else:
                self.state.streams_abandoned += 1

    async def _models(self, request: Request) -> Response:
        if request.headers.get("authorization", "").removeprefix("Bearer ").startswith("sk-bad"):
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in MODELS]
        return JSONResponse({"object": "list", "data": data})

    # Responses API

    async def _responses(self, request: Request) -> Response:
        body, last, failure = await self._admit(request)
        if failure is not None:
            return failure
        reply = _reply_for(_conversation(body), str(body.get("instructions") or ""))
        frames = self._responses_frames(body, reply)
        return StreamingResponse(self._paced(last, frames), media_type="text/event-stream")

    async def _responses_frames(self, body: dict[str, Any], reply: str) -> AsyncIterator[bytes]:
        response_id = f"resp_{uuid.uuid4().hex}"
        item_id = f"msg_{uuid.uuid4().hex}"
        sequence = 0

        def event(kind: str, **payload: Any) -> bytes:
            nonlocal sequence
            data = {"type": kind, "sequence_number": sequence, **payload}
            sequence += 1
            return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()

        def response(status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
            words = len(_words(reply))
            return {
                "id": response_id,
                "object": "response",
                "created_at": int(time.time()),
                "status": status,
                "model": body.get("model"),
                "output": output,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": words,
                    "total_tokens": 10 + words,
                    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                    "output_tokens_details": {"reasoning_tokens": 0},
                }
                if status == "completed"
                else None,
            }

        text_part = {"type": "output_text", "text": "", "annotations": []}
        message = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress"}
        yield event("response.created", response=response("in_progress", []))
        yield event("response.output_item.added", output_index=0, item={**message, "content": []})
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        yield event("response.content_part.added", **where, part=text_part)
        for word in _words(reply):
            yield event("response.output_text.delta", **where, delta=word, logprobs=[])
        yield event("response.output_text.done", **where, text=reply, logprobs=[])
        done_part = {**text_part, "text": reply}
        yield event("response.content_part.done", **where, part=done_part)
        done_message = {**message, "status": "completed", "content": [done_part]}
        yield event("response.output_item.done", output_index=0, item=done_message)
        if "[truncate]" not in _last_user_text(_conversation(body)):
            yield event("response.completed", response=response("completed", [done_message]))

    # Chat Completions API

    async def _chat_completions(self, request: Request) -> Response:
        body, last, failure = await self._admit(request)
        if failure is not None:
            return failure
        messages = body.get("messages", [])
        instructions = next(
            (_text_of(m.get("content")) for m in messages if m.get("role") == "system"), ""
        )
        reply = _reply_for(_conversation(body), instructions)
        frames = self._chat_frames(body, reply)
        return StreamingResponse(self._paced(last, frames), media_type="text/event-stream")

    async def _chat_frames(self, body: dict[str, Any], reply: str) -> AsyncIterator[bytes]:
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model"),
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return f"data: {json.dumps({**base, 'choices': [choice]})}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        for word in _words(reply):
            yield chunk({"content": word})  # a "delta" frame
        if "[truncate]" not in _last_user_text(_conversation(body)):
            yield chunk({}, finish="stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            words = len(_words(reply))
            usage = {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}
            yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode()
        yield b"data: [DONE]\n\n"


def main() -> None:
    """Run the fake on a port of its own: ``python -m tests.support.fake_upstream PORT``."""
    import sys

    server = FakeUpstream(idle_timeout=75)  # nginx's default; providers' own are not published
    server.run_forever(int(sys.argv[1]))


if __name__ == "__main__":
    main()
