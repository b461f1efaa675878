"""The real server, started the way users start it (``chatkit-desk serve``), as a child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_JWT_SECRET = "test-signing-secret-" + "0123456789abcdef" * 4
TEST_OPENAI_KEY = "sk-test-openai-1111"
TEST_GEMINI_KEY = "test-gemini-2222"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_token(sub: str, ttl: int = 600, secret: str = TEST_JWT_SECRET) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + ttl}, secret, algorithm="HS256")


def base_env(data_dir: Path, upstream_url: str, keyring_file: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CHATKIT_DESK_") and key not in ("OPENAI_API_KEY", "GEMINI_API_KEY")
    }
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        PYTHONUNBUFFERED="1",
        PYTHON_KEYRING_BACKEND="tests.support.keyrings.FileKeyring",
        CHATKIT_DESK_TEST_KEYRING=str(keyring_file),
        CHATKIT_DESK_DATA_DIR=str(data_dir),
        CHATKIT_DESK_JWT_SECRET=TEST_JWT_SECRET,
        CHATKIT_DESK_OPENAI_BASE_URL=upstream_url,
        CHATKIT_DESK_OPENAI_MODEL="fake-gpt",
        CHATKIT_DESK_GEMINI_BASE_URL=upstream_url,
        CHATKIT_DESK_GEMINI_MODEL="fake-gemini",
        CHATKIT_DESK_UPSTREAM_TIMEOUT="3",
        OPENAI_API_KEY=TEST_OPENAI_KEY,
        GEMINI_API_KEY=TEST_GEMINI_KEY,
    )
    return env


def run_cli(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatkit_desk", *args],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


class DeskProcess:
    def __init__(
        self, env: dict[str, str], log_file: Path, command: tuple[str, ...] = ("serve",)
    ) -> None:
        self.port = free_port()
        self.env = {**env, "CHATKIT_DESK_PORT": str(self.port)}
        self.command = command
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> DeskProcess:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chatkit_desk", *self.command],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            if self.ready():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"server was not ready in {timeout}s:\n{self.log()}")

    def ready(self) -> bool:
        """Whether ``/health`` says the chat stack is loaded (not merely that it answers)."""
        try:
            answer = httpx.get(f"{self.url}/health", timeout=5)
        except httpx.TransportError:
            return False
        return answer.status_code == 200 and answer.json().get("ready") is True

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_with_tools(
    folder: Path, upstream_url: str, provider: str = "openai", **env: str
) -> DeskProcess:
    """A server of its own (new data dir in ``folder``) using ``folder/mcp.json``."""
    data_dir = folder / f"data-{provider}-{os.urandom(3).hex()}"
    environment = base_env(data_dir, upstream_url, folder / "keyring.json")
    environment.update(
        CHATKIT_DESK_PROVIDER=provider, CHATKIT_DESK_MCP_CONFIG=str(folder / "mcp.json"), **env
    )
    return DeskProcess(environment, data_dir.with_suffix(".log")).start()
