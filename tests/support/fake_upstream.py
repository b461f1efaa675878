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

Tool calls, thoughts and usage are scripted by ``fake_turns`` (``[tool:NAME {json}]``,
``[then]``, ``[loop:…]``, ``[reason]``, ``[noid]``). A model whose name contains ``gemini``
gets Gemini's Chat Completions quirks: parallel calls in one chunk without ``index``, a
``thought_signature`` that must come back (else a 400 whose body is a JSON array, as Gemini's),
thoughts inside ``content`` as ``<thought>…</thought>``, and usage on every chunk whose
``completion_tokens`` leave the thoughts out.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.fake_turns import (
    SEND_TIME,
    THOUGHTS,
    Call,
    Usage,
    answer_text,
    next_calls,
    read_request,
    text_of,
    wants_thoughts,
    words,
)
from tests.support.fake_turns import (
    XSS_REPLY as XSS_REPLY,  # the tests' import of it
)

MODELS = ["fake-gpt", "fake-gemini", "fake-mini"]
_SEND_TIME = SEND_TIME.encode()
MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for "
    "tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance."
)


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
    usages: list[Usage] = field(default_factory=list)
    """What each completed response billed, in order."""

    def user_texts(self) -> list[str]:
        return [read_request(r.body).last_user for r in self.requests if r.body]


def _gemini_mode(body: dict[str, Any]) -> bool:
    return "gemini" in str(body.get("model", "")).lower()


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
        last = read_request(body).last_user
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
        frames = self._responses_frames(body)
        return StreamingResponse(self._paced(last, frames), media_type="text/event-stream")

    async def _responses_frames(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        conversation = read_request(body)
        calls = next_calls(conversation)
        reply = "" if calls else answer_text(conversation, str(body.get("instructions") or ""))
        thought = wants_thoughts(body, conversation.last_user) and not conversation.outputs
        response_id = f"resp_{uuid.uuid4().hex}"
        sequence = 0
        output: list[dict[str, Any]] = []

        def event(kind: str, **payload: Any) -> bytes:
            nonlocal sequence
            data = {"type": kind, "sequence_number": sequence, **payload}
            sequence += 1
            return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()

        def response(status: str, usage: Usage | None = None) -> dict[str, Any]:
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
                "usage": None
                if usage is None
                else {
                    "input_tokens": usage.input,
                    "output_tokens": usage.output,
                    "total_tokens": usage.input + usage.output,
                    "input_tokens_details": {
                        "cached_tokens": usage.cached,
                        "cache_write_tokens": 0,
                    },
                    "output_tokens_details": {"reasoning_tokens": usage.reasoning},
                },
            }

        yield event("response.created", response=response("in_progress"))
        if thought:
            item_id = f"rs_{uuid.uuid4().hex}"
            where = {"item_id": item_id, "output_index": len(output)}
            item = {"id": item_id, "type": "reasoning", "summary": []}
            yield event("response.output_item.added", output_index=len(output), item=item)
            for index, text in enumerate(THOUGHTS):
                part = {"type": "summary_text", "text": ""}
                yield event(
                    "response.reasoning_summary_part.added", **where, summary_index=index, part=part
                )
                for word in words(text):
                    yield event(
                        "response.reasoning_summary_text.delta",
                        **where,
                        summary_index=index,
                        delta=word,
                    )
                yield event(
                    "response.reasoning_summary_text.done", **where, summary_index=index, text=text
                )
                yield event(
                    "response.reasoning_summary_part.done",
                    **where,
                    summary_index=index,
                    part={**part, "text": text},
                )
            item = {**item, "summary": [{"type": "summary_text", "text": t} for t in THOUGHTS]}
            yield event("response.output_item.done", output_index=len(output), item=item)
            output.append(item)
        for call in calls:
            item_id = f"fc_{uuid.uuid4().hex}"
            item = {
                "id": item_id,
                "type": "function_call",
                "call_id": f"call_{uuid.uuid4().hex[:24]}",
                "name": call.name,
                "arguments": "",
                "status": "in_progress",
            }
            where = {"item_id": item_id, "output_index": len(output)}
            yield event("response.output_item.added", output_index=len(output), item=item)
            yield event("response.function_call_arguments.delta", **where, delta=call.arguments)
            yield event(
                "response.function_call_arguments.done",
                **where,
                name=call.name,
                arguments=call.arguments,
            )
            item = {**item, "arguments": call.arguments, "status": "completed"}
            yield event("response.output_item.done", output_index=len(output), item=item)
            output.append(item)
        if reply:
            item_id = f"msg_{uuid.uuid4().hex}"
            text_part = {"type": "output_text", "text": "", "annotations": []}
            message = {
                "id": item_id,
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
            }
            index = len(output)
            yield event(
                "response.output_item.added", output_index=index, item={**message, "content": []}
            )
            where = {"item_id": item_id, "output_index": index, "content_index": 0}
            yield event("response.content_part.added", **where, part=text_part)
            for word in words(reply):
                yield event("response.output_text.delta", **where, delta=word, logprobs=[])
            yield event("response.output_text.done", **where, text=reply, logprobs=[])
            done_part = {**text_part, "text": reply}
            yield event("response.content_part.done", **where, part=done_part)
            done_message = {**message, "status": "completed", "content": [done_part]}
            yield event("response.output_item.done", output_index=index, item=done_message)
            output.append(done_message)
        if "[truncate]" not in conversation.last_user:
            usage = Usage.of(body, reply + "".join(c.arguments for c in calls), thought)
            self.state.usages.append(usage)
            yield event("response.completed", response=response("completed", usage))

    # Chat Completions API

    async def _chat_completions(self, request: Request) -> Response:
        body, last, failure = await self._admit(request)
        if failure is not None:
            return failure
        if _gemini_mode(body) and _signature_missing(read_request(body)):
            return JSONResponse(
                [
                    {
                        "error": {
                            "code": 400,
                            "message": MISSING_SIGNATURE,
                            "status": "INVALID_ARGUMENT",
                        }
                    }
                ],
                status_code=400,
            )
        frames = self._chat_frames(body)
        return StreamingResponse(self._paced(last, frames), media_type="text/event-stream")

    async def _chat_frames(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        conversation = read_request(body)
        messages = body.get("messages", [])
        instructions = next(
            (text_of(m.get("content")) for m in messages if m.get("role") == "system"), ""
        )
        calls = next_calls(conversation)
        reply = "" if calls else answer_text(conversation, instructions)
        thought = wants_thoughts(body, conversation.last_user) and not conversation.outputs
        gemini = _gemini_mode(body)
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model"),
        }
        usage = Usage.of(body, reply + "".join(c.arguments for c in calls), thought)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            data: dict[str, Any] = {**base, "choices": [choice]}
            if gemini:
                data["usage"] = _chat_usage(usage, gemini)  # Gemini repeats it on every chunk
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        if thought and gemini:
            marked = {"extra_content": {"google": {"thought": True}}}
            yield chunk({"content": f"<thought>{THOUGHTS[0]}", **marked})
            yield chunk({"content": f" {THOUGHTS[1]}", **marked})
            first, *rest = words(reply) if reply else [""]
            yield chunk({"content": f"</thought>{first}"})
            reply_words = rest
        else:
            reply_words = words(reply) if reply else []
        if calls:
            for frame in _chat_calls(calls, gemini, "[noid]" in conversation.last_user, chunk):
                yield frame
        for word in reply_words:
            yield chunk({"content": word})  # a "delta" frame
        if "[truncate]" not in conversation.last_user:
            self.state.usages.append(usage)
            yield chunk({}, finish="tool_calls" if calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            data = {**base, "choices": [], "usage": _chat_usage(usage, gemini)}
            yield f"data: {json.dumps(data)}\n\n".encode()
        yield b"data: [DONE]\n\n"


def _chat_calls(calls: list[Call], gemini: bool, no_id: bool, chunk: Any) -> Iterator[bytes]:
    """Tool call chunks: OpenAI's (an index each, arguments streamed after the name) or
    Gemini's (all in one chunk, no index, the thought signature on the first)."""
    ids = [f"call_{uuid.uuid4().hex[:24]}" for _ in calls]
    if gemini:
        parts = []
        for position, call in enumerate(calls):
            part: dict[str, Any] = {
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            if not no_id:
                part["id"] = ids[position]
            if position == 0:
                part["extra_content"] = {"google": {"thought_signature": f"sig-{ids[0]}"}}
            parts.append(part)
        yield chunk({"tool_calls": parts})
        return
    for index, call in enumerate(calls):
        start = {"name": call.name, "arguments": ""}
        yield chunk(
            {
                "tool_calls": [
                    {"index": index, "id": ids[index], "type": "function", "function": start}
                ]
            }
        )
        yield chunk({"tool_calls": [{"index": index, "function": {"arguments": call.arguments}}]})


def _chat_usage(usage: Usage, gemini: bool) -> dict[str, Any]:
    """Gemini's ``completion_tokens`` leave thoughts out; they are in ``total_tokens`` only."""
    completion = usage.output - usage.reasoning if gemini else usage.output
    answer: dict[str, Any] = {
        "prompt_tokens": usage.input,
        "completion_tokens": completion,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cached},
    }
    if not gemini:
        answer["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning}
    return answer


def _signature_missing(conversation: Any) -> bool:
    """Gemini 3 refuses a replayed call that lost the signature it was sent with."""
    first = conversation.calls_replayed[:1]
    if not first:
        return False
    google = (first[0].get("extra_content") or {}).get("google") or {}
    return not google.get("thought_signature")


def main() -> None:
    """Run the fake on a port of its own: ``python -m tests.support.fake_upstream PORT``."""
    import sys

    server = FakeUpstream(idle_timeout=75)  # nginx's default; providers' own are not published
    server.run_forever(int(sys.argv[1]))


if __name__ == "__main__":
    main()
