"""Team mode's storage with real ``serve`` processes: two replicas on one Postgres share threads,
attachments, sign-in links and the rate limit; the schema is made once; what cannot work is
refused at start, in one line, before the port is bound."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from backend.store.migrations import POSTGRES, latest
from backend.tokens import TokenAuthority
from tests.support import attachments as files
from tests.support.attachments import attach, user_input_with
from tests.support.desk_process import TEST_JWT_SECRET, DeskProcess, base_env, make_token, run_cli
from tests.support.fake_upstream import FakeUpstream
from tests.support.postgres import execute
from tests.support.sse_client import DeskClient


@pytest.fixture
def team_env(tmp_path: Path, upstream: FakeUpstream, postgres_schema: str) -> dict[str, str]:
    environment = base_env(tmp_path / "data", upstream.base_url, tmp_path / "keyring.json")
    environment["CHATKIT_DESK_DATABASE_URL"] = postgres_schema
    return environment


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("chatkit-desk:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_two_replicas_on_one_database_are_one_server(
    desk_factory: Callable[..., DeskProcess], team_env: dict[str, str], user: str
) -> None:
    first = desk_factory(**team_env, CHATKIT_DESK_RATE_LIMIT_PER_MINUTE="6")
    second = desk_factory(**team_env, CHATKIT_DESK_RATE_LIMIT_PER_MINUTE="6")
    on_first = DeskClient(first.url, make_token(user))
    on_second = DeskClient(second.url, make_token(user))
    try:
        started = on_first.create_thread("hello from one")  # 1 request of 6
        thread_id = started.thread_id
        assert "You said: hello from one" in started.assistant_text

        continued = on_second.add_message(thread_id, "and on")  # 2
        assert continued.status == 200
        assert "Earlier you said: hello from one" in continued.assistant_text, (
            "the other replica answers with the whole thread"
        )
        items = on_first.list_items(thread_id, order="asc").body  # 3
        assert items is not None
        texts = [part.get("text", "") for item in items["data"] for part in item["content"]]
        assert [text.split(".")[0] for text in texts] == [
            "hello from one",
            "You said: hello from one",
            "and on",
            "You said: and on",
        ]

        assert on_second.list_threads().status == 200  # 4
        assert on_first.list_threads().status == 200  # 5
        assert on_second.list_threads().status == 200  # 6: the shared limit is spent
        refused = on_first.list_threads()
        assert refused.status == 429 and refused.body["error"]["code"] == "rate_limited"
    finally:
        on_first.close()
        on_second.close()


def test_an_attachment_uploaded_to_one_replica_is_sent_and_shown_by_the_other(
    desk_factory: Callable[..., DeskProcess], team_env: dict[str, str], user: str
) -> None:
    """The bytes are in the database: the replicas share no disk."""
    first, second = desk_factory(**team_env), desk_factory(**team_env)
    on_first = DeskClient(first.url, make_token(user))
    on_second = DeskClient(second.url, make_token(user))
    try:
        image = files.png(3, 2)
        sent = attach(on_first, "tiny.png", "image/png", image)
        reply = on_second.chatkit(
            {
                "type": "threads.create",
                "params": {"input": user_input_with("[received]", sent["id"])},
            }
        )
        assert reply.status == 200 and not reply.errors
        assert reply.assistant_text == f"Received: image/png {len(image)} B."

        preview = httpx.get(sent["preview_url"].replace(first.url, second.url), timeout=30)
        assert preview.status_code == 200 and preview.content == image
    finally:
        on_first.close()
        on_second.close()


def test_a_sign_in_link_works_on_one_replica_once(
    desk_factory: Callable[..., DeskProcess], team_env: dict[str, str]
) -> None:
    first, second = desk_factory(**team_env), desk_factory(**team_env)
    token = TokenAuthority(TEST_JWT_SECRET).issue_login()

    used = httpx.get(f"{first.url}/login", params={"token": token}, timeout=60)
    replayed = httpx.get(f"{second.url}/login", params={"token": token}, timeout=60)

    assert used.status_code == 303
    assert replayed.status_code == 401 and "already used" in replayed.text


def test_migrate_makes_the_schema_once_and_says_so(team_env: dict[str, str]) -> None:
    for _ in range(2):
        result = run_cli(["migrate"], team_env)
        assert result.returncode == 0, result.stderr
        assert f"is at schema version {latest(POSTGRES)}." in result.stdout
    assert "postgres@" in result.stdout and "search_path" in result.stdout


def test_team_mode_without_a_signing_secret_is_refused(team_env: dict[str, str]) -> None:
    env = {k: v for k, v in team_env.items() if k != "CHATKIT_DESK_JWT_SECRET"}
    message = one_line_error(run_cli(["serve"], env), 2)
    assert "CHATKIT_DESK_JWT_SECRET" in message and "every replica" in message


def test_a_replica_older_than_the_schema_refuses_to_start(
    team_env: dict[str, str], postgres_url: str
) -> None:
    assert run_cli(["migrate"], team_env).returncode == 0
    schema = team_env["CHATKIT_DESK_DATABASE_URL"].rpartition("search_path=")[2]
    newer = latest(POSTGRES) + 1
    execute(
        postgres_url,
        f"INSERT INTO {schema}.schema_migrations (version, purpose) VALUES ({newer}, 'later')",
    )
    message = one_line_error(run_cli(["serve"], team_env), 2)
    assert f"at version {newer}, newer than this ChatKit Desk knows" in message
    assert "newer release" in message


def test_an_unreachable_database_is_one_line_without_the_password(
    team_env: dict[str, str], tmp_path: Path
) -> None:
    url = f"postgresql://desk:hunter2@/desk?host={tmp_path}/nowhere"
    message = one_line_error(run_cli(["serve"], {**team_env, "CHATKIT_DESK_DATABASE_URL": url}), 2)
    assert "cannot be reached" in message and "hunter2" not in message
