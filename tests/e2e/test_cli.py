"""The ``chatkit-desk`` command as a user types it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest

from backend.supervision import ExitCode, read_health
from tests.support.desk_process import (
    REPO_ROOT,
    TEST_JWT_SECRET,
    DeskProcess,
    base_env,
    free_port,
    make_token,
    run_cli,
)
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient
from tests.support.waiting import wait_until


@pytest.fixture
def env(tmp_path: Path, upstream: FakeUpstream) -> dict[str, str]:
    environment = base_env(tmp_path / "data", upstream.base_url, tmp_path / "keyring.json")
    del environment["OPENAI_API_KEY"], environment["GEMINI_API_KEY"]
    return environment


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("chatkit-desk:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_keys_set_status_delete(env: dict[str, str], tmp_path: Path) -> None:
    stored = run_cli(["keys", "set", "openai"], env, stdin="sk-from-stdin-123\n")
    assert stored.returncode == 0, stored.stderr
    assert "sk-from-stdin-123" not in stored.stdout + stored.stderr

    status = run_cli(["keys", "status"], env)
    assert "openai: set (keyring)" in status.stdout
    assert "gemini: not set" in status.stdout
    assert "FileKeyring" in status.stdout
    assert "sk-from-stdin" not in status.stdout

    assert "removed" in run_cli(["keys", "delete", "openai"], env).stdout
    assert "openai: not set" in run_cli(["keys", "status"], env).stdout
    assert "No OpenAI key was stored" in run_cli(["keys", "delete", "openai"], env).stdout


def test_keys_status_names_the_environment(env: dict[str, str]) -> None:
    status = run_cli(["keys", "status"], {**env, "GEMINI_API_KEY": "g-secret"})
    assert "gemini: set (environment variable GEMINI_API_KEY)" in status.stdout
    assert "g-secret" not in status.stdout


def test_key_is_never_taken_from_argv(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(["keys", "set", "openai", "sk-on-the-command-line"], env)
    assert result.returncode == 2
    assert not (tmp_path / "keyring.json").exists()


def test_empty_key_is_refused(env: dict[str, str]) -> None:
    assert "the key is empty" in one_line_error(run_cli(["keys", "set", "gemini"], env, stdin="\n"))


def test_keys_without_a_keyring(env: dict[str, str]) -> None:
    no_keyring = {**env, "PYTHON_KEYRING_BACKEND": "tests.support.keyrings.NoKeyring"}
    message = one_line_error(run_cli(["keys", "set", "openai"], no_keyring, stdin="sk-x\n"), 1)
    assert "no system keyring is available" in message
    assert (
        "not set (no system keyring is available" in run_cli(["keys", "status"], no_keyring).stdout
    )


def test_token_is_signed_for_the_user_and_lifetime(env: dict[str, str]) -> None:
    result = run_cli(["token", "--sub", "alice", "--ttl", "2h"], env)
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), TEST_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 7200


def test_token_default_user_and_bad_arguments(env: dict[str, str]) -> None:
    token = run_cli(["token"], env).stdout.strip()
    assert jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"])["sub"] == "local"
    assert "not a duration" in one_line_error(run_cli(["token", "--ttl", "soon"], env))
    assert "user name" in one_line_error(run_cli(["token", "--sub", "a b"], env))


def test_token_secret_from_the_keyring_is_shared_with_the_server(
    env: dict[str, str], desk_factory: Callable[..., DeskProcess], user: str
) -> None:
    del env["CHATKIT_DESK_JWT_SECRET"]
    token = run_cli(["token", "--sub", user], env).stdout.strip()

    desk = desk_factory(unset=("CHATKIT_DESK_JWT_SECRET",))

    reply = DeskClient(desk.url, token).list_threads()
    assert reply.status == 200, "the server checks tokens with the secret the CLI generated"
    assert DeskClient(desk.url, make_token(user)).list_threads().status == 401


def test_headless_quick_start_without_a_keyring(
    env: dict[str, str], tmp_path: Path, desk_factory: Callable[..., DeskProcess], user: str
) -> None:
    """The README's quick start on a box with no keyring: the key from the environment, a
    token minted before the server starts, and still valid after a restart."""
    del env["CHATKIT_DESK_JWT_SECRET"]
    no_keyring = {**env, "PYTHON_KEYRING_BACKEND": "tests.support.keyrings.NoKeyring"}
    minted = run_cli(["token", "--sub", user], no_keyring)
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    secret_file = tmp_path / "data" / "jwt-secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600

    status = run_cli(["keys", "status"], no_keyring).stdout
    assert f"token signing secret: kept in {secret_file}" in status

    server = {**no_keyring, "OPENAI_API_KEY": "sk-headless-1234"}
    for _ in range(2):  # the token outlives the server that accepted it
        desk = desk_factory(tmp_path / "data", unset=("CHATKIT_DESK_JWT_SECRET",), **server)
        client = DeskClient(desk.url, token)
        assert client.list_threads().status == 200
        assert client.create_thread("hello").errors == []
        desk.stop()


def test_token_without_any_place_for_the_secret_says_what_to_do(
    env: dict[str, str], tmp_path: Path
) -> None:
    del env["CHATKIT_DESK_JWT_SECRET"]
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    no_keyring = {
        **env,
        "PYTHON_KEYRING_BACKEND": "tests.support.keyrings.NoKeyring",
        "CHATKIT_DESK_DATA_DIR": str(not_a_folder / "data"),
    }
    message = one_line_error(run_cli(["token"], no_keyring), 1)
    assert "CHATKIT_DESK_JWT_SECRET" in message


def test_busy_port_is_one_line_with_the_fix(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = one_line_error(run_cli(["serve", "--port", str(port)], env), 3)
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert "--port" in message and "CHATKIT_DESK_PORT" in message


def test_invalid_setting_is_one_line(env: dict[str, str]) -> None:
    message = one_line_error(run_cli(["serve"], {**env, "CHATKIT_DESK_PROVIDER": "claude"}))
    assert "CHATKIT_DESK_PROVIDER" in message


def test_bare_command_without_display_runs_the_server(
    desk_factory: Callable[..., DeskProcess],
) -> None:
    desk = desk_factory(unset=("DISPLAY", "WAYLAND_DISPLAY"), command=())
    assert "no display found; running the headless server" in desk.log()


def test_server_without_keyring_still_runs_and_explains(
    desk_factory: Callable[..., DeskProcess], user: str
) -> None:
    desk = desk_factory(
        PYTHON_KEYRING_BACKEND="tests.support.keyrings.NoKeyring",
        OPENAI_API_KEY="",
        GEMINI_API_KEY="",
    )
    assert httpx.get(f"{desk.url}/health", timeout=60).json()["key_configured"] is False
    error = DeskClient(desk.url, make_token(user)).create_thread("hello").errors[0]
    assert "No OpenAI API key is configured (no system keyring is available" in error["message"]
    assert "no system keyring is available" in desk.log()


def test_key_stored_with_the_cli_is_used_by_the_server(
    env: dict[str, str], desk_factory: Callable[..., DeskProcess], upstream: FakeUpstream, user: str
) -> None:
    assert run_cli(["keys", "set", "openai"], env, stdin="sk-kept-in-keyring\n").returncode == 0
    desk = desk_factory(OPENAI_API_KEY="")
    reply = DeskClient(desk.url, make_token(user)).create_thread("hello")
    assert reply.errors == []
    assert upstream.state.requests[-1].authorization == "Bearer sk-kept-in-keyring"
    assert os.environ.get("OPENAI_API_KEY") != "sk-kept-in-keyring"


def test_key_changes_reach_a_running_server_without_a_keyring_read_per_turn(
    env: dict[str, str],
    desk_factory: Callable[..., DeskProcess],
    upstream: FakeUpstream,
    user: str,
    tmp_path: Path,
) -> None:
    def store_elsewhere(key: str) -> None:
        """What another keyring tool would do: ChatKit Desk is not told."""
        (tmp_path / "keyring.json").write_text(json.dumps({"chatkit-desk/openai": key}))

    def used_key_after(text: str) -> str:
        client.add_message(thread_id, text)
        return upstream.state.requests[-1].authorization.removeprefix("Bearer ")

    assert run_cli(["keys", "set", "openai"], env, stdin="sk-first\n").returncode == 0
    desk = desk_factory(tmp_path / "data", OPENAI_API_KEY="")
    client = DeskClient(desk.url, make_token(user))
    thread_id = client.create_thread("one").thread_id

    store_elsewhere("sk-unnoticed")  # the key is cached, not read from the keyring every turn
    assert used_key_after("two") == "sk-first"

    assert run_cli(["keys", "set", "openai"], env, stdin="sk-bad-second\n").returncode == 0
    assert used_key_after("three") == "sk-bad-second"  # the CLI tells the server

    store_elsewhere("sk-fixed-elsewhere")  # after the provider refused the cached key
    assert used_key_after("four") == "sk-fixed-elsewhere"
    assert client.add_message(thread_id, "five").errors == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_supervised_server_stops_when_its_parent_dies(env: dict[str, str]) -> None:
    """The tray's child never outlives it: a parent killed with -9 takes the server with it."""
    port = free_port()
    launcher = (
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-m', 'backend', 'serve', '--port', "
        f"'{port}'], stdin=subprocess.PIPE);"
        "print(child.pid, flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", launcher],
        cwd=REPO_ROOT,
        env={**env, "CHATKIT_DESK_WATCH_PARENT": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    try:
        wait_until(lambda: _health(port) is not None, "the supervised server never answered")
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        wait_until(lambda: not _alive(child_pid), "the server outlived its parent")
    finally:
        if _alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def test_the_end_of_stdin_stops_a_supervised_server_gracefully(
    env: dict[str, str], tmp_path: Path
) -> None:
    """How the tray stops its server where there is no SIGTERM (Windows): it closes the pipe."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env={**env, "CHATKIT_DESK_WATCH_PARENT": "1"},
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: (_health(port) or {}).get("ready"), "the server never became ready")
        assert server.stdin is not None
        server.stdin.close()
        assert server.wait(timeout=60) == ExitCode.OK
    finally:
        if server.poll() is None:
            server.kill()
    assert "Shutting down" in log.read_text(), "it stopped the way Ctrl+C stops it"


def _health(port: int) -> dict | None:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    except httpx.TransportError:
        return None
    return read_health(answer.content)
