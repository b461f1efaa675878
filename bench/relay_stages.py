"""Where a relayed delta's time goes: a timestamp at each stage inside the servers.

A diagnostic beside the benchmark, not part of it. ``python -m bench.relay_stages [--streams N]``
starts the fake provider, the minimal relay and ChatKit Desk on both provider paths, each with
hooks that note when every word (the fake provider's send time, ``time.time_ns()``) first passes
each stage; then it sends N streams of 20 words at 100 words/s, one at a time (the relay
scenario of ``bench/run.py``), and prints per target the median time since the provider sent
the word at each stage, and the median step from the stage before.

The hooks wrap private parts of the pinned httpcore2, openai, openai-agents and openai-chatkit
and of ChatKit Desk's own modules; a hook whose target has moved is skipped (and said so), so the
table shows fewer stages rather than failing. Each hook adds ~2-3 µs to the path it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STAMP = re.compile(r"(\d{19})")
seen: dict[str, dict[str, int]] = {}
"""stage → word → when it first passed there (only chunks carrying one word count)."""


def mark(stage: str, data: object) -> None:
    now = time.time_ns()
    text = data.decode(errors="replace") if isinstance(data, bytes | bytearray) else str(data)
    words = STAMP.findall(text)
    if len(words) == 1:
        seen.setdefault(stage, {}).setdefault(words[0], now)


def hook(stage: str, install: Callable[[], None]) -> None:
    try:
        install()
    except (AttributeError, ImportError) as exc:
        print(f"relay_stages: no hook for {stage!r} ({exc})", file=sys.stderr)


def wrap_send(send: Any, stage: str) -> Any:
    async def marked(message: dict) -> None:
        if message["type"] == "http.response.body":
            mark(stage, message.get("body", b""))
        await send(message)

    return marked


def hook_socket_reads() -> None:
    from httpcore2._backends.anyio import AnyIOStream

    read = AnyIOStream.read

    async def marked(self: Any, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        data = await read(self, max_bytes, timeout)
        mark("01 socket read (httpcore2)", data)
        return data

    AnyIOStream.read = marked  # type: ignore[method-assign]


def delta_of(event: object) -> object:
    return getattr(event, "delta", None) or getattr(getattr(event, "update", None), "delta", "")


def hook_generator(owner: Any, name: str, stage: str, of: Callable[[Any], object]) -> None:
    original = getattr(owner, name)

    async def marked(*args: Any, **kwargs: Any) -> Any:
        async for item in original(*args, **kwargs):
            mark(stage, of(item))
            yield item

    setattr(owner, name, marked)


def install_desk_hooks() -> None:
    hook("socket read", hook_socket_reads)

    def sse() -> None:
        from openai import _streaming

        feed = _streaming._SSELineDecoder.feed

        def marked_feed(self: Any, chunk: bytes) -> Any:
            mark("02 bytes reach openai's SSE decoder (h11, httpx2)", chunk)
            return feed(self, chunk)

        _streaming._SSELineDecoder.feed = marked_feed  # type: ignore[method-assign]
        decode_lines = _streaming.SSEDecoder._decode_lines

        def marked_lines(self: Any, lines: Any) -> Any:
            for event in decode_lines(self, lines):
                mark("03 SSE event decoded (openai)", event.data)
                yield event

        _streaming.SSEDecoder._decode_lines = marked_lines  # type: ignore[method-assign]

    def parse() -> None:
        from backend.chat.openai_client import DeskOpenAI

        process = DeskOpenAI._process_response_data

        def marked(self: Any, *, data: Any, cast_to: Any, response: Any) -> Any:
            word = data.get("delta") or str(data.get("choices"))
            mark("04 JSON parsed (openai's stream)", word)
            event = process(self, data=data, cast_to=cast_to, response=response)
            mark("05 event built (fast_parse)", word)
            return event

        DeskOpenAI._process_response_data = marked  # type: ignore[method-assign]

    def queued() -> None:
        from agents.run_internal import run_loop

        raw = run_loop.RawResponsesStreamEvent

        def marked(data: Any) -> Any:
            mark("06 Agents SDK queues it (run loop task)", delta_of(data))
            return raw(data=data)

        run_loop.RawResponsesStreamEvent = marked  # type: ignore[assignment,misc]

    def dequeued() -> None:
        from agents.result import RunResultStreaming

        stage = "07 the turn's task takes it (stream_events)"
        of = lambda event: delta_of(getattr(event, "data", None))  # noqa: E731
        hook_generator(RunResultStreaming, "stream_events", stage, of)

    def chatkit_event() -> None:
        from backend.chat import reply

        stage = "08 ChatKit event built (backend.chat.reply)"
        hook_generator(reply.AssistantReply, "events", stage, delta_of)

    def bounded() -> None:
        from backend.chat import server

        stage = "09 past the provider's timeouts (bounded_waits)"
        hook_generator(server, "bounded_waits", stage, delta_of)

    def serialize() -> None:
        from chatkit.server import ChatKitServer

        original = ChatKitServer._serialize

        def marked(self: Any, event: Any) -> bytes:
            mark("10 ChatKit SDK's _process_events done", delta_of(event))
            return original(self, event)

        ChatKitServer._serialize = marked  # type: ignore[method-assign]

    def sse_out() -> None:
        from backend.web import sse

        original = sse.response

        def marked(chunks: Any, failure: bytes, on_close: Any, keep_alive: float) -> Any:
            async def noted() -> Any:
                async for chunk in chunks:
                    mark("11 SSE bytes (serialized)", chunk)
                    yield chunk

            return original(noted(), failure, on_close, keep_alive)

        sse.response = marked

    def uvicorn_send() -> None:
        from backend.web.deferred_app import DeferredApp

        call = DeferredApp.__call__

        async def marked(self: Any, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                send = wrap_send(send, "12 handed to uvicorn (middleware done)")
            await call(self, scope, receive, send)

        DeferredApp.__call__ = marked  # type: ignore[method-assign]

    for stage, install in [
        ("SSE decoding", sse),
        ("parsing", parse),
        ("queued", queued),
        ("dequeued", dequeued),
        ("ChatKit event", chatkit_event),
        ("bounded waits", bounded),
        ("serialize", serialize),
        ("SSE out", sse_out),
        ("uvicorn send", uvicorn_send),
    ]:
        hook(stage, install)


def serve(kind: str, port: str, out: str) -> None:
    """Run in a child: install the hooks, dump what they saw on SIGUSR1, serve."""

    def dump(*_: object) -> None:
        Path(out).write_text(json.dumps(seen))

    signal.signal(signal.SIGUSR1, dump)
    if kind == "desk":
        install_desk_hooks()
        from backend.cli import main

        sys.exit(main(["serve"]))
    hook("socket read", hook_socket_reads)
    import uvicorn

    sys.path.insert(0, str(Path(__file__).parent))
    from minimal_relay import app

    async def relay(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            send = wrap_send(send, "12 handed to uvicorn")
        await app(scope, receive, send)

    uvicorn.run(relay, host="127.0.0.1", port=int(port), log_level="warning")


def main() -> None:
    import jwt

    from bench.run import (
        SECRET,
        Processes,
        chatkit_body,
        desk_env,
        free_port,
        wait_for_port,
        wait_healthy,
    )
    from bench.sse_load import stream

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=10)
    args = parser.parse_args()
    procs = Processes()
    try:
        fake = free_port()
        procs.start([sys.executable, "-m", "tests.support.fake_upstream", str(fake)])
        wait_for_port(fake)
        upstream = f"http://127.0.0.1:{fake}/v1"
        now = int(time.time())
        claims = {"sub": "bench", "iat": now, "exp": now + 3600}
        desk = ("/chatkit", chatkit_body, {"Authorization": f"Bearer {jwt.encode(claims, SECRET)}"})
        targets = {  # name: (how to start it, path, body, headers)
            "minimal relay (Responses)": (
                "relay",
                "/v1/responses",
                lambda text: {"model": "fake-gpt", "input": text, "stream": True},
                {},
            ),
            "ChatKit Desk (openai)": ("desk", *desk),
            "minimal relay (Chat Completions)": (
                "relay",
                "/v1/chat/completions",
                lambda text: {
                    "model": "fake-gemini",
                    "stream": True,
                    "messages": [{"role": "user", "content": text}],
                },
                {},
            ),
            "ChatKit Desk (gemini)": ("desk", *desk),
        }
        running = {}
        for name, (kind, *_) in targets.items():
            port = free_port()
            out = str(procs.tmp / f"stages-{port}.json")
            env = {"RELAY_BASE_URL": upstream}
            if kind == "desk":
                provider = name.split("(")[1].rstrip(")")
                env = desk_env(procs.tmp / provider, upstream, provider, port)
            command = [sys.executable, "-m", "bench.relay_stages", kind, str(port), out]
            running[name] = (port, procs.start(command, env), out)
        for port, _, _ in running.values():
            wait_healthy(port)
        received: dict[str, dict[str, int]] = {name: {} for name in targets}
        for round_number in range(args.streams + 2):  # the first two warm up
            for name, (_, path, body, headers) in targets.items():
                port = running[name][0]
                result = asyncio.run(stream(port, path, body("hi [bench:20:100]"), headers))
                if result.error:
                    print(f"relay_stages: {name}: {result.error}", file=sys.stderr)
                if round_number >= 2:
                    received[name].update(result.arrivals)
        for _, child, _ in running.values():
            child.send_signal(signal.SIGUSR1)
        time.sleep(1)
        for name, (_, _, out) in running.items():
            stages = json.loads(Path(out).read_text())
            report(name, {**stages, "13 the client receives it": received[name]})
    finally:
        procs.stop_all()


def report(name: str, stages: dict[str, dict[str, int]]) -> None:
    """Medians over the words seen at every stage (a stage that saw none is listed apart)."""
    received = stages[max(stages)]
    empty = [stage for stage in sorted(stages) if not set(stages[stage]) & set(received)]
    names = [stage for stage in sorted(stages) if stage not in empty]
    words = [w for w in received if all(w in stages[stage] for stage in names)]
    print(f"\n{name}: {len(words)} deltas" + (f" (no word seen at: {empty})" if empty else ""))
    previous = None
    for stage in names:
        since_sent = statistics.median((stages[stage][w] - int(w)) / 1000 for w in words)
        step = (
            statistics.median((stages[stage][w] - stages[previous][w]) / 1000 for w in words)
            if previous
            else since_sent
        )
        print(f"  {since_sent:7.0f} µs since sent  {step:+6.0f} µs  {stage}")
        previous = stage


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("desk", "relay"):
        serve(*sys.argv[1:])
    else:
        main()
