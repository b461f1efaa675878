"""A change in settings.json (what the settings window writes) applies without a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from backend.settings import save_settings_file
from tests.support.desk_process import DeskProcess, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient


def test_provider_model_and_instructions_apply_to_the_next_message(
    desk_factory: Callable[..., DeskProcess], tmp_path: Path, upstream: FakeUpstream, user: str
) -> None:
    data_dir = tmp_path / "live"
    desk = desk_factory(data_dir, unset=("CHATKIT_DESK_PROVIDER", "CHATKIT_DESK_GEMINI_MODEL"))
    client = DeskClient(desk.url, make_token(user))
    thread_id = client.create_thread("first on openai").thread_id
    assert upstream.state.requests[-1].path == "/v1/responses"

    save_settings_file(
        data_dir,
        {"provider": "gemini", "gemini_model": "fake-mini", "instructions": "Be brief."},
    )

    reply = client.add_message(thread_id, "[instructions]")
    assert reply.assistant_text == "My instructions are: Be brief."
    last = upstream.state.requests[-1]
    assert (last.path, last.body["model"]) == ("/v1/chat/completions", "fake-mini")
    health = httpx.get(f"{desk.url}/health", timeout=60).json()
    assert (health["provider"], health["model"]) == ("gemini", "fake-mini")


def test_allowed_origins_apply_without_a_restart(
    desk_factory: Callable[..., DeskProcess], tmp_path: Path, user: str
) -> None:
    data_dir = tmp_path / "live"
    desk = desk_factory(data_dir)
    origin = {"Origin": "http://localhost:5173", "Authorization": f"Bearer {make_token(user)}"}
    body = {"type": "threads.list", "params": {}}
    assert (
        httpx.post(f"{desk.url}/chatkit", json=body, headers=origin, timeout=60).status_code == 403
    )

    save_settings_file(data_dir, {"allowed_origins": ["http://localhost:5173"]})

    assert (
        httpx.post(f"{desk.url}/chatkit", json=body, headers=origin, timeout=60).status_code == 200
    )


def test_an_invalid_file_keeps_the_last_good_settings(
    desk_factory: Callable[..., DeskProcess], tmp_path: Path, user: str
) -> None:
    data_dir = tmp_path / "live"
    desk = desk_factory(data_dir)
    (data_dir / "settings.json").write_text("{broken")

    reply = DeskClient(desk.url, make_token(user)).create_thread("still fine?")
    assert reply.errors == []
    assert "not valid, keeping the last good settings" in desk.log()
