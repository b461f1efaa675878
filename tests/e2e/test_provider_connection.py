"""The connection to the provider outlives a pause between messages, and a closed one is replaced.

Each new connection costs a TCP (and, to a real provider, TLS) handshake before the first
token; httpx would drop an idle connection after 5 s, shorter than people take to reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.desk_process import DeskProcess, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient

PAUSE_LONGER_THAN_HTTPX_DEFAULT = 5.5


@pytest.fixture
def patient_upstream() -> Iterator[FakeUpstream]:
    """A provider that keeps idle connections open for a minute."""
    server = FakeUpstream(idle_timeout=60).start()
    yield server
    server.stop()


@pytest.fixture
def hasty_upstream() -> Iterator[FakeUpstream]:
    """A provider that closes idle connections after one second."""
    server = FakeUpstream(idle_timeout=1).start()
    yield server
    server.stop()


def two_messages_with_a_pause(
    desk_factory: Callable[..., DeskProcess], upstream: FakeUpstream, user: str, pause: float
) -> tuple[int, int]:
    desk = desk_factory(CHATKIT_DESK_OPENAI_BASE_URL=upstream.base_url)
    client = DeskClient(desk.url, make_token(user))
    thread_id = client.create_thread("first").thread_id
    time.sleep(pause)
    reply = client.add_message(thread_id, "second")
    assert reply.errors == []
    assert reply.assistant_text.startswith("You said: second.")
    first, second = upstream.state.requests[-2:]
    return first.client_port, second.client_port


def test_the_connection_is_reused_after_a_pause(
    desk_factory: Callable[..., DeskProcess], patient_upstream: FakeUpstream, user: str
) -> None:
    first, second = two_messages_with_a_pause(
        desk_factory, patient_upstream, user, PAUSE_LONGER_THAN_HTTPX_DEFAULT
    )
    assert first == second


def test_a_connection_the_provider_closed_is_replaced_without_an_error(
    desk_factory: Callable[..., DeskProcess], hasty_upstream: FakeUpstream, user: str
) -> None:
    first, second = two_messages_with_a_pause(desk_factory, hasty_upstream, user, 2.0)
    assert first != second
