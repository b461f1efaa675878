"""A client that keeps connections alive never loses a request to the server closing them.

httpx keeps an idle connection for 5 s and reuses it until then; uvicorn closed idle ones after
5 s too, so a request sent on a connection at that moment was lost (``ReadError``). The server's
keep-alive must outlast the clients': these tests idle a connection past httpx's expiry, which
is the behaviour itself, not a way of waiting for something.
"""

from __future__ import annotations

import select
import socket
import time

import httpx

from backend.serve import KEEP_ALIVE_SECONDS
from tests.support.desk_process import DeskProcess, make_token

HTTPX_IDLE_EXPIRY = 5.0
IDLE = HTTPX_IDLE_EXPIRY + 1.0


def _request(connection: socket.socket, port: int) -> bytes:
    connection.sendall(
        f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\r\n".encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer


def test_an_idle_connection_outlives_common_clients_idle_expiry(openai_desk: DeskProcess) -> None:
    with socket.create_connection(("127.0.0.1", openai_desk.port), timeout=60) as connection:
        assert _request(connection, openai_desk.port).startswith(b"HTTP/1.1 200")

        readable, _, _ = select.select([connection], [], [], IDLE)
        assert not readable, "the server closed an idle connection a client may still reuse"

        assert _request(connection, openai_desk.port).startswith(b"HTTP/1.1 200")


def test_a_pooled_client_reuses_its_connection_after_a_pause(
    openai_desk: DeskProcess, user: str
) -> None:
    limits = httpx.Limits(keepalive_expiry=IDLE + 1)
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    body = {"type": "threads.list", "params": {}}
    ports: list[int] = []

    def note_port(response: httpx.Response) -> None:
        stream = response.extensions["network_stream"]
        ports.append(stream.get_extra_info("client_addr")[1])

    with httpx.Client(limits=limits, timeout=60, event_hooks={"response": [note_port]}) as client:
        assert client.post(f"{openai_desk.url}/chatkit", json=body, headers=headers).is_success
        time.sleep(IDLE)  # idle, as a person is between two messages
        assert client.post(f"{openai_desk.url}/chatkit", json=body, headers=headers).is_success
    assert ports[0] == ports[1], "the same connection served both requests"
    assert KEEP_ALIVE_SECONDS > 300, "longer than Chromium keeps a used idle socket"
