"""Team mode whole: two real ``serve`` replicas on one real Postgres behind the real HAProxy
(``deploy/haproxy.cfg``), with the fake provider, reached the way users reach them: through the
load balancer's HTTPS and the public URL.

Which replica answers is forced by putting the other in maintenance through HAProxy's admin
socket (``LoadBalancer.only``), which also checks from HAProxy's counters that the request went
there; where a replica is killed or stopped, the load balancer finds the other by itself.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.store.migrations import POSTGRES
from tests.support import attachments as files
from tests.support.attachments import attach, user_input_with
from tests.support.desk_process import make_token, run_cli
from tests.support.fake_upstream import FakeUpstream
from tests.support.load_balancer import Team, lb_client, start_team, stop_team
from tests.support.postgres import fetch, fresh_schema
from tests.support.sse_client import BackgroundStream, DeskClient, parse_sse, user_input
from tests.support.waiting import wait_until

pytestmark = pytest.mark.timeout(300)
"""A test's setup starts two replicas, HAProxy and (the first) Postgres: 45 s on a busy 2-core
machine, more than a third of the usual 120 s."""

RATE_LIMIT = 6
"""Requests a minute per user, shared by the replicas (one more every 10 s)."""
TEAM_ENV = {
    # A held answer waits for the test, which on a busy machine may take a while.
    "CHATKIT_DESK_UPSTREAM_TIMEOUT": "120",
}


@pytest.fixture(scope="module")
def team(
    tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream, postgres_url: str
) -> Iterator[Team]:
    """Shared by the tests that stop no replica; each of them is a new user."""
    with fresh_schema(postgres_url) as database_url:
        started = start_team(
            tmp_path_factory.mktemp("team-mode"),
            upstream,
            database_url=database_url,
            CHATKIT_DESK_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
            **TEAM_ENV,
        )
        yield started
        stop_team(started)


@pytest.fixture
def own_team(tmp_path: Path, upstream: FakeUpstream, postgres_schema: str) -> Iterator[Team]:
    """A team of its own, for a test that kills or stops one of its replicas."""
    started = start_team(tmp_path, upstream, database_url=postgres_schema, **TEAM_ENV)
    yield started
    stop_team(started)


def through_lb(team: Team, user: str) -> DeskClient:
    return DeskClient(team.lb.url, make_token(user), timeout=60, verify=False)


def database_of(team: Team) -> str:
    return team.replicas[0].env["CHATKIT_DESK_DATABASE_URL"]


def stored_items(team: Team, thread_id: str) -> list[dict[str, Any]]:
    """The thread's items as Postgres holds them, in order, with their incomplete mark."""
    rows = fetch(
        database_of(team),
        "SELECT data, incomplete FROM items WHERE thread_id = $1 ORDER BY pos",
        thread_id,
    )
    return [{**json.loads(row["data"]), "incomplete": row["incomplete"]} for row in rows]


def texts(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (item["type"], "".join(part.get("text", "") for part in item.get("content", [])))
        for item in items
    ]


def test_replicas_started_together_on_an_empty_database_made_its_schema_once(
    team: Team,
) -> None:
    applied = fetch(database_of(team), "SELECT version FROM schema_migrations ORDER BY version")
    assert [row["version"] for row in applied] == [m.version for m in POSTGRES]
    assert team.lb.states() == {"desk-1": "UP", "desk-2": "UP"}


def test_a_thread_started_on_one_replica_continues_on_the_other(team: Team, user: str) -> None:
    with through_lb(team, user) as client:
        with team.lb.only("desk-1"):
            started = client.create_thread("hello from one")
        assert started.status == 200 and not started.errors
        assert started.assistant_text.startswith("You said: hello from one")

        with team.lb.only("desk-2"):
            continued = client.add_message(started.thread_id, "and on")
        assert continued.status == 200 and not continued.errors
        assert "Earlier you said: hello from one" in continued.assistant_text, (
            "the other replica answered with the whole thread"
        )

        with team.lb.only("desk-1"):
            listed = client.list_items(started.thread_id, order="asc")
    assert listed.body is not None
    assert [text.split(".")[0] for _, text in texts(listed.body["data"])] == [
        "hello from one",
        "You said: hello from one",
        "and on",
        "You said: and on",
    ]


def test_a_sign_in_link_works_once_and_its_cookie_on_every_replica(team: Team) -> None:
    link = run_cli(["open", "--print-url"], team.replicas[1].env).stdout.strip()
    assert link.startswith(f"{team.lb.url}/login?token="), "the link is the public URL's"

    with lb_client() as browser:
        with team.lb.only("desk-1"):
            signed_in = browser.get(link)
        with team.lb.only("desk-2"):
            replayed = browser.get(link)
    assert signed_in.status_code == 303, signed_in.text
    assert replayed.status_code == 401 and "already used" in replayed.text

    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith("__Host-chatkit_desk_session=") and "Secure" in cookie
    page = {"Cookie": cookie.split(";")[0], "Origin": team.lb.url}
    new_thread = {"type": "threads.create", "params": {"input": user_input("signed in")}}

    with lb_client(headers=page) as browser:
        with team.lb.only("desk-2"):
            config = browser.get(f"{team.lb.url}/config.json")
            started = browser.post(f"{team.lb.url}/chatkit", json=new_thread)
        assert config.status_code == 200, config.text
        assert started.status_code == 200, started.text
        thread_id = parse_sse(started.text)[0]["thread"]["id"]
        more = {
            "type": "threads.add_user_message",
            "params": {"thread_id": thread_id, "input": user_input("still me")},
        }
        with team.lb.only("desk-1"):
            continued = browser.post(f"{team.lb.url}/chatkit", json=more)
    assert continued.status_code == 200, continued.text
    assert "Earlier you said: signed in" in continued.text


def test_the_rate_limit_is_spent_across_both_replicas(team: Team, user: str) -> None:
    refill_seconds = 60 / RATE_LIMIT
    passed: list[str] = []
    with through_lb(team, user) as client:
        spend = {"type": "threads.list", "params": {}}
        with team.lb.only("desk-1"):
            began = time.monotonic()
            for _ in range(RATE_LIMIT // 2):
                answer = client.http.post("/chatkit", json=spend)
                assert answer.status_code == 200, answer.text
                passed.append("desk-1")
        with team.lb.only("desk-2"):
            # Each replica's own bucket would let desk-2 take RATE_LIMIT more.
            for _ in range(RATE_LIMIT + 1):
                refused = client.http.post("/chatkit", json=spend)
                if refused.status_code != 200:
                    break
                passed.append("desk-2")
            refused_after = time.monotonic() - began
        with team.lb.only("desk-1"):
            again = client.http.post("/chatkit", json=spend)
            again_after = time.monotonic() - began

    # The bucket holds RATE_LIMIT and gains one every refill_seconds: on a slow machine a
    # request may have been let through by that.
    assert RATE_LIMIT <= len(passed) <= RATE_LIMIT + refused_after // refill_seconds, passed
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= refill_seconds
    if again_after < refill_seconds:
        assert again.status_code == 429, "the first replica refuses too"


def test_an_attachment_uploaded_to_one_replica_is_sent_and_previewed_by_the_other(
    team: Team, user: str
) -> None:
    image = files.png(5, 3)
    with through_lb(team, user) as client:
        with team.lb.only("desk-1"):
            sent = attach(client, "tiny.png", "image/png", image, verify=False)
        assert sent["preview_url"].startswith(f"{team.lb.url}/")
        with team.lb.only("desk-2"):
            reply = client.chatkit(
                {
                    "type": "threads.create",
                    "params": {"input": user_input_with("[received]", sent["id"])},
                }
            )
            preview = httpx.get(sent["preview_url"], verify=False, timeout=60)
    assert reply.status == 200 and not reply.errors
    assert reply.assistant_text == f"Received: image/png {len(image)} B."
    assert preview.status_code == 200 and preview.content == image
    blobs = fetch(
        database_of(team),
        "SELECT data FROM attachment_blobs WHERE attachment_id = $1",
        sent["id"],
    )
    assert image in [row["data"] for row in blobs], "the bytes are in the database"


def test_a_replica_killed_mid_answer_keeps_the_message_and_the_other_answers_next(
    own_team: Team, upstream: FakeUpstream, user: str
) -> None:
    team, hold = own_team, f"kill-{uuid.uuid4().hex[:8]}"
    stream = BackgroundStream(team.lb.url, user, f"Tell me a story [hold:{hold}]")
    try:
        with team.lb.only("desk-1"):
            stream.start()
            assert stream.first_delta.wait(60), "the answer started"
        thread_id = stream.events_so_far[0]["thread"]["id"]
        served = team.lb.served()

        team.replica("desk-1").kill()  # kill -9 while it streams
        stream.join(60)
        assert not stream.is_alive() and stream.failure is not None, "the stream broke off"

        # At once, through the load balancer, which has to find the live replica by itself.
        with through_lb(team, user) as client:
            kept = client.list_items(thread_id, order="asc")
            assert kept.status == 200, kept.body
            assert texts(kept.body["data"]) == [("user_message", f"Tell me a story [hold:{hold}]")]

            next_turn = client.add_message(thread_id, "are you there")
        assert next_turn.status == 200 and not next_turn.errors
        assert next_turn.assistant_text.startswith(
            f"You said: are you there. Earlier you said: Tell me a story [hold:{hold}]"
        )
        assert team.lb.served()["desk-2"] >= served["desk-2"] + 2
    finally:
        upstream.release(hold)

    assert [kind for kind, _ in texts(stored_items(team, thread_id))] == [
        "user_message",  # kept; its answer died with the replica
        "user_message",
        "assistant_message",
    ]


def test_sigterm_mid_answer_drains_it_while_the_other_replica_takes_new_requests(
    own_team: Team, upstream: FakeUpstream, user: str
) -> None:
    team, hold = own_team, f"drain-{uuid.uuid4().hex[:8]}"
    draining = team.replica("desk-1")
    stream = BackgroundStream(team.lb.url, user, f"A long answer [hold:{hold}]")
    try:
        with team.lb.only("desk-1"):
            stream.start()
            assert stream.first_delta.wait(60), "the answer started"
        thread_id = stream.events_so_far[0]["thread"]["id"]

        draining.process.send_signal(signal.SIGTERM)
        with through_lb(team, user) as client:
            for _ in range(3):  # at once: HAProxy resends what the draining replica refuses
                listed = client.list_threads()
                assert listed.status == 200, listed.body
            wait_until(
                lambda: team.lb.states()["desk-1"].startswith("DOWN"),
                "HAProxy took the draining replica out",
            )
            before = team.lb.served()
            for _ in range(3):
                listed = client.list_threads()
                assert listed.status == 200, listed.body
            after = team.lb.served()
        assert after["desk-1"] == before["desk-1"] and after["desk-2"] == before["desk-2"] + 3
        assert stream.is_alive() and draining.process.poll() is None, "the answer still runs"

        upstream.release(hold)
        stream.join(60)
    finally:
        upstream.release(hold)

    assert not stream.reply.errors
    answer = stream.reply.assistant_text
    assert answer.startswith(f"You said: A long answer [hold:{hold}]")
    wait_until(lambda: draining.process.poll() is not None, "the drained replica stopped")
    # uvicorn ends by the signal it was sent, once its shutdown is complete.
    assert draining.process.returncode in (0, -signal.SIGTERM), draining.log()
    assert "Application shutdown complete" in draining.log()
    stored = stored_items(team, thread_id)
    assert [(item["type"], item["incomplete"]) for item in stored] == [
        ("user_message", False),
        ("assistant_message", False),
    ]
    assert texts(stored)[1][1] == answer, "stored whole"
