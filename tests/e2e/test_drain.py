"""SIGTERM: a replica takes no new requests, lets running answers finish for a while, then ends
them with a retryable error, their partial answers kept as incomplete, not as "user cancelled"."""

from __future__ import annotations

import json
import signal
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from backend.chat.provider_errors import RESTARTING
from backend.chat.reply import INCOMPLETE_NOTE
from tests.support.desk_process import DeskProcess
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import BackgroundStream
from tests.support.waiting import wait_until


def stored_items(data_dir: Path) -> list[tuple[dict[str, object], int]]:
    """Every stored item with its incomplete mark, read from the stopped server's database."""
    with sqlite3.connect(data_dir / "chatkit-desk.sqlite3") as db:
        rows = db.execute("SELECT data, incomplete FROM items ORDER BY seq").fetchall()
    return [(json.loads(data), incomplete) for data, incomplete in rows]


def start_answer(desk: DeskProcess, hold: str) -> BackgroundStream:
    stream = BackgroundStream(
        desk.url, f"user-{uuid.uuid4().hex[:8]}", f"Tell me a story [hold:{hold}]"
    )
    stream.start()
    assert stream.first_delta.wait(60), "the answer started"
    return stream


def test_a_running_answer_finishes_within_the_drain(
    desk_factory: Callable[..., DeskProcess], upstream: FakeUpstream
) -> None:
    # The held answer is silent while the test looks: more than the tests' usual 3 s upstream
    # timeout on a busy machine.
    desk = desk_factory(CHATKIT_DESK_DRAIN_SECONDS="60", CHATKIT_DESK_UPSTREAM_TIMEOUT="120")
    hold = f"drain-{uuid.uuid4().hex[:8]}"
    stream = start_answer(desk, hold)

    desk.process.send_signal(signal.SIGTERM)
    wait_until(lambda: "draining" in desk.log(), "the server began draining")
    try:
        probe = httpx.get(f"{desk.url}/readyz", timeout=5)
    except httpx.TransportError:
        pass  # no new connections: a load balancer sends them elsewhere
    else:
        # The app is marked draining just before uvicorn closes its socket: a probe that got
        # in between is told so.
        assert probe.status_code == 503, probe.text
    upstream.release(hold)
    stream.join(60)

    assert not stream.reply.errors
    assert stream.reply.assistant_text.startswith("You said: Tell me a story")
    wait_until(lambda: desk.process.poll() is not None, "the server stopped after the answer")
    data_dir = Path(desk.env["CHATKIT_DESK_DATA_DIR"])
    answers = [(i, mark) for i, mark in stored_items(data_dir) if i["type"] == "assistant_message"]
    assert len(answers) == 1 and answers[0][1] == 0  # stored whole, not marked incomplete


def test_an_answer_still_running_at_the_deadline_ends_with_a_retryable_error_and_is_kept(
    desk_factory: Callable[..., DeskProcess], upstream: FakeUpstream
) -> None:
    desk = desk_factory(CHATKIT_DESK_DRAIN_SECONDS="1")
    hold = f"deadline-{uuid.uuid4().hex[:8]}"
    try:
        stream = start_answer(desk, hold)
        desk.process.send_signal(signal.SIGTERM)
        stream.join(60)
        wait_until(lambda: desk.process.poll() is not None, "the server stopped")
    finally:
        upstream.release(hold)

    errors = stream.reply.errors
    assert [(e["message"], e["allow_retry"]) for e in errors] == [(RESTARTING, True)]
    kept = stream.reply.assistant_text
    assert kept.startswith("You said:") and kept.endswith(INCOMPLETE_NOTE)

    items = stored_items(Path(desk.env["CHATKIT_DESK_DATA_DIR"]))
    answers = [(i, mark) for i, mark in items if i["type"] == "assistant_message"]
    assert len(answers) == 1 and answers[0][1] == 1
    assert "".join(p["text"] for p in answers[0][0]["content"]) == kept
    assert "user cancelled" not in json.dumps([item for item, _ in items])
    assert "Cancel" not in desk.log()  # ended by the drain, not cancelled by uvicorn
