"""Two real replicas behind a real HAProxy running ``deploy/haproxy.cfg``: streams pass unbuffered
and stay open while the model is silent, a client's Stop reaches the replica, sign-in and cookies
work on every replica with the client's own address, and a draining replica leaves the rotation
while its stream finishes.

Each replica has its own SQLite data dir: what is shared through Postgres is tested elsewhere;
this is the load balancer's plumbing.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import load_balancer
from tests.support.desk_process import DeskProcess, make_token, run_cli
from tests.support.fake_upstream import FakeUpstream
from tests.support.load_balancer import (
    CONFIG,
    LoadBalancer,
    Team,
    check_config,
    environment,
    start_team,
    stop_team,
)
from tests.support.load_balancer import self_signed_pem as make_pem
from tests.support.sse_client import parse_sse, user_input
from tests.support.waiting import wait_until

KEEP_ALIVE_SECONDS = "0.5"
CLIENT_ADDRESS = "127.0.0.2"
"""The test's client connects from here, so that it differs from the load balancer's address."""
HELD_ANSWER_TIMEOUT = "120"
"""A held answer is silent until the test releases it, which includes waiting for HAProxy's next
health check: the tests' usual 3 s upstream timeout would end it first on a busy machine."""


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Team]:
    started = start_team(
        tmp_path_factory.mktemp("team"),
        upstream,
        CHATKIT_DESK_SSE_KEEPALIVE_SECONDS=KEEP_ALIVE_SECONDS,
    )
    yield started
    stop_team(started)


def lb_client() -> httpx.Client:
    return load_balancer.lb_client(local_address=CLIENT_ADDRESS)


def chat(text: str) -> tuple[dict[str, object], dict[str, str]]:
    body = {"type": "threads.create", "params": {"input": user_input(text)}}
    return body, {"Authorization": f"Bearer {make_token(f'user-{uuid.uuid4().hex[:8]}')}"}


def log_lines(replica: DeskProcess) -> list[dict[str, object]]:
    """The replica's JSON log lines (stdout)."""
    return [json.loads(line) for line in replica.log().splitlines() if line.startswith("{")]


def test_the_shipped_configuration_is_valid(tmp_path: Path) -> None:
    env = environment(8080, 8443, make_pem(tmp_path))
    checked = check_config(CONFIG, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_stream_arrives_through_the_load_balancer_as_it_is_sent(team: Team) -> None:
    body, headers = chat("Tell me slowly [slow]")
    arrivals: list[float] = []
    raw = ""
    with (
        lb_client() as client,
        client.stream("POST", f"{team.lb.url}/chatkit", json=body, headers=headers) as answer,
    ):
        assert answer.status_code == 200
        for chunk in answer.iter_text():
            raw += chunk
            if "text_delta" in chunk:
                arrivals.append(time.monotonic())
    events = parse_sse(raw)
    assert events[-1]["type"] != "error"
    # 40 words 50 ms apart: buffered, they would arrive together at the end.
    assert len(arrivals) >= 10
    assert arrivals[-1] - arrivals[0] >= 1.0


def test_keep_alive_comments_hold_a_silent_stream_open_past_the_proxys_idle_timeout(
    team: Team, tmp_path: Path
) -> None:
    # The proxy closes a connection silent for 2 s; the provider says nothing until the replica
    # gives up on it (CHATKIT_DESK_UPSTREAM_TIMEOUT, 3 s in the tests) and says so in the stream.
    strict = LoadBalancer(tmp_path, [r.port for r in team.replicas], idle_timeout="2s").start()
    try:
        body, headers = chat("Think first [hang-first]")
        with lb_client() as client:
            answer = client.post(f"{strict.url}/chatkit", json=body, headers=headers)
    finally:
        strict.stop()
    assert answer.text.count(": keep-alive\n\n") >= 2
    errors = [event for event in parse_sse(answer.text) if event["type"] == "error"]
    assert len(errors) == 1 and "did not answer within 3 seconds" in errors[0]["message"]


def test_a_client_leaving_a_stream_stops_the_replicas_upstream_request(
    team: Team, upstream: FakeUpstream
) -> None:
    hold = f"leave-{uuid.uuid4().hex[:8]}"
    abandoned = upstream.state.streams_abandoned
    body, headers = chat(f"Go on and on [hold:{hold}]")
    try:
        with (
            lb_client() as client,
            client.stream("POST", f"{team.lb.url}/chatkit", json=body, headers=headers) as answer,
        ):
            for chunk in answer.iter_text():
                if "text_delta" in chunk:
                    break  # the person pressed Stop
        wait_until(
            lambda: upstream.state.streams_abandoned > abandoned,
            "the replica stopped its request to the provider",
        )
    finally:
        upstream.release(hold)


def test_sign_in_through_the_load_balancer_works_on_every_replica(team: Team) -> None:
    link = run_cli(["open", "--print-url"], team.replicas[0].env).stdout.strip()
    assert link.startswith(f"{team.lb.url}/login?token=")

    with lb_client() as client:
        signed_in = client.get(
            link.replace("localhost", "127.0.0.1"),  # the certificate is for localhost
            headers={"Host": f"localhost:{team.lb.https_port}", "X-Forwarded-For": "203.0.113.9"},
        )
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith("__Host-chatkit_desk_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
    session = cookie.split(";")[0]

    for replica in team.replicas:  # whatever its port, each one reads the same cookie
        page = httpx.get(f"{replica.url}/config.json", headers={"Cookie": session}, timeout=30)
        assert page.status_code == 200, replica.log()

    logins = [
        line
        for replica in team.replicas
        for line in log_lines(replica)
        if line.get("event") == "request" and line.get("route") == "/login"
    ]
    assert [line["client"] for line in logins] == [CLIENT_ADDRESS]


def test_a_draining_replica_leaves_the_rotation_and_finishes_its_stream(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    team = start_team(
        tmp_path,
        upstream,
        CHATKIT_DESK_SSE_KEEPALIVE_SECONDS=KEEP_ALIVE_SECONDS,
        CHATKIT_DESK_UPSTREAM_TIMEOUT=HELD_ANSWER_TIMEOUT,
    )
    hold = f"drain-lb-{uuid.uuid4().hex[:8]}"
    body, headers = chat(f"A long answer [hold:{hold}]")
    try:
        with (
            lb_client() as client,
            client.stream("POST", f"{team.lb.url}/chatkit", json=body, headers=headers) as answer,
        ):
            chunks = answer.iter_text()
            raw = next(chunk for chunk in chunks if "text_delta" in chunk)
            wait_until(lambda: 1 in team.lb.streams_on().values(), "HAProxy shows the stream")
            holder = next(name for name, n in team.lb.streams_on().items() if n == 1)
            draining = team.replicas[int(holder.removeprefix("desk-")) - 1]
            draining.process.send_signal(signal.SIGTERM)

            with lb_client() as other:  # new requests, at once: none of them fails
                for _ in range(6):
                    listed = other.post(
                        f"{team.lb.url}/chatkit",
                        json={"type": "threads.list", "params": {}},
                        headers=headers,
                    )
                    assert listed.status_code == 200, listed.text
            wait_until(
                lambda: team.lb.states().get(holder, "").startswith("DOWN"),
                "HAProxy took the draining replica out",
            )
            upstream.release(hold)
            raw += "".join(chunks)
        events = parse_sse(raw)
        assert not [event for event in events if event["type"] == "error"]
        assert any(event["type"] == "thread.item.done" for event in events)
        wait_until(lambda: draining.process.poll() is not None, "the drained replica stopped")
    finally:
        upstream.release(hold)
        stop_team(team)
