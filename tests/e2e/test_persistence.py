"""Threads survive a restart, and nothing acknowledged is lost when the server is killed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.desk_process import DeskProcess, make_token
from tests.support.sse_client import DeskClient, user_input


def test_restart_with_the_same_data_dir_keeps_threads(
    desk_factory: Callable[..., DeskProcess], tmp_path: Path, user: str
) -> None:
    data_dir = tmp_path / "data"
    first = desk_factory(data_dir)
    client = DeskClient(first.url, make_token(user))
    thread_id = client.create_thread("remember the tulips").thread_id
    first.stop()

    second = desk_factory(data_dir)
    client = DeskClient(second.url, make_token(user))
    assert [t["id"] for t in client.list_threads().body["data"]] == [thread_id]
    follow_up = client.add_message(thread_id, "what was it?")
    assert "Earlier you said: remember the tulips." in follow_up.assistant_text


def test_kill_mid_answer_keeps_the_acknowledged_message(
    desk_factory: Callable[..., DeskProcess], tmp_path: Path, user: str
) -> None:
    data_dir = tmp_path / "data"
    desk = desk_factory(data_dir)
    body = {"type": "threads.create", "params": {"input": user_input("do not lose me [slow]")}}
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    with httpx.stream(
        "POST", f"{desk.url}/chatkit", json=body, headers=headers, timeout=60
    ) as response:
        for line in response.iter_lines():
            if '"user_message"' in line:
                break  # the server has acknowledged the message
        desk.kill()

    restarted = desk_factory(data_dir)
    client = DeskClient(restarted.url, make_token(user))
    threads = client.list_threads().body["data"]
    assert len(threads) == 1
    items = client.get_thread(threads[0]["id"]).body["items"]["data"]
    assert items[0]["content"][0]["text"] == "do not lose me [slow]"
