"""The connection to the provider outlives a pause between messages, and a closed one is replaced.

Each new connection costs a TCP (and, to a real provider, TLS) handshake before the first
token; httpx would drop an idle connection after 5 s, shorter than people take to reply. Idle
connections are not free either (each turn probes every one), so only a few are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from backend.chat.providers import IDLE_CONNECTIONS_KEPT
from tests.support.desk_process import DeskProcess, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient

PAUSE_LONGER_THAN_HTTPX_DEFAULT = 5.5


@pytest.fixture
def provider_closing_idle_after() -> Iterator[Callable[[int], FakeUpstream]]:
    """Start fake providers that close idle connections after the given seconds."""
    started: list[FakeUpstream] = []

    def start(idle_timeout: int) -> FakeUpstream:
        started.append(FakeUpstream(idle_timeout=idle_timeout).start())
        return started[-1]

    yield start
    for server in started:
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
    desk_factory: Callable[..., DeskProcess],
    provider_closing_idle_after: Callable[[int], FakeUpstream],
    user: str,
) -> None:
    patient = provider_closing_idle_after(60)
    first, second = two_messages_with_a_pause(
        desk_factory, patient, user, PAUSE_LONGER_THAN_HTTPX_DEFAULT
    )
    assert first == second


def test_a_connection_the_provider_closed_is_replaced_without_an_error(
    desk_factory: Callable[..., DeskProcess],
    provider_closing_idle_after: Callable[[int], FakeUpstream],
    user: str,
) -> None:
    hasty = provider_closing_idle_after(1)
    first, second = two_messages_with_a_pause(desk_factory, hasty, user, 2.0)
    assert first != second


def test_after_a_burst_of_chats_only_a_few_idle_connections_are_kept(
    desk_factory: Callable[..., DeskProcess],
    provider_closing_idle_after: Callable[[int], FakeUpstream],
) -> None:
    provider = provider_closing_idle_after(60)
    desk = desk_factory(CHATKIT_DESK_OPENAI_BASE_URL=provider.base_url)
    burst = IDLE_CONNECTIONS_KEPT + 6

    def chat(index: int) -> int:
        client = DeskClient(desk.url, make_token(f"burst-{index}"))
        try:
            reply = client.create_thread("all at once [bench:20:50]")  # ~0.4 s each: overlapping
        finally:
            client.close()
        assert reply.errors == []
        return reply.status

    with ThreadPoolExecutor(burst) as pool:
        assert list(pool.map(chat, range(burst))) == [200] * burst
    ports = {request.client_port for request in provider.state.requests[-burst:]}
    assert len(ports) == burst, "the chats ran side by side, each on its own connection"

    deadline = time.monotonic() + 5
    while provider.open_connections > IDLE_CONNECTIONS_KEPT and time.monotonic() < deadline:
        time.sleep(0.05)
    assert provider.open_connections == IDLE_CONNECTIONS_KEPT
