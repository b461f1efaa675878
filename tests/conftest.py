from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest

from tests.support.desk_process import DeskProcess, base_env, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.keyrings import MemoryKeyring
from tests.support.postgres import (
    URL_ENV,
    PostgresMissing,
    fresh_schema,
    missing,
    start_cluster,
)
from tests.support.sse_client import DeskClient


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    server = FakeUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("desk")


def _start(session_dir: Path, upstream: FakeUpstream, name: str, **env: str) -> DeskProcess:
    data_dir = session_dir / name
    data_dir.mkdir()
    environment = base_env(data_dir, upstream.base_url, session_dir / f"{name}-keyring.json")
    environment.update(env)
    return DeskProcess(environment, session_dir / f"{name}.log").start()


@pytest.fixture(scope="session")
def openai_desk(session_dir: Path, upstream: FakeUpstream) -> Iterator[DeskProcess]:
    desk = _start(session_dir, upstream, "openai", CHATKIT_DESK_PROVIDER="openai")
    yield desk
    desk.stop()


@pytest.fixture(scope="session")
def gemini_desk(session_dir: Path, upstream: FakeUpstream) -> Iterator[DeskProcess]:
    desk = _start(session_dir, upstream, "gemini", CHATKIT_DESK_PROVIDER="gemini")
    yield desk
    desk.stop()


@pytest.fixture
def desk_factory(tmp_path: Path, upstream: FakeUpstream) -> Iterator[Callable[..., DeskProcess]]:
    """Start extra servers with their own settings; every one is stopped after the test."""
    started: list[DeskProcess] = []

    def start(
        data_dir: Path | None = None,
        unset: tuple[str, ...] = (),
        command: tuple[str, ...] = ("serve",),
        **env: str,
    ) -> DeskProcess:
        directory = data_dir or tmp_path / f"data-{len(started)}"
        environment = base_env(directory, upstream.base_url, tmp_path / "keyring.json")
        environment.update(env)
        for name in unset:
            environment.pop(name, None)
        log_file = tmp_path / f"server-{len(started)}.log"
        desk = DeskProcess(environment, log_file, command).start()
        started.append(desk)
        return desk

    yield start
    for desk in started:
        desk.kill()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keyring for this test, the process's previous one restored after."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def user() -> str:
    """A fresh user per test, so tests sharing a server never see each other's threads."""
    return f"user-{uuid.uuid4().hex[:12]}"


def client_for(desk: DeskProcess, sub: str) -> DeskClient:
    return DeskClient(desk.url, make_token(sub))


@pytest.fixture(params=["openai", "gemini"])
def provider_desk(request: pytest.FixtureRequest) -> DeskProcess:
    return request.getfixturevalue(f"{request.param}_desk")


@pytest.fixture
def client(provider_desk: DeskProcess, user: str) -> Iterator[DeskClient]:
    desk_client = client_for(provider_desk, user)
    yield desk_client
    desk_client.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A Postgres server for the whole run: a throwaway cluster (``tests.support.postgres``)."""
    if configured := os.environ.get(URL_ENV):
        yield configured
        return
    try:
        cluster = start_cluster()
    except PostgresMissing as exc:
        missing(str(exc))
    yield cluster.url
    cluster.stop()


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A URL whose connections work in an empty schema of this test's own, dropped after it:
    tests may use the same ids and count rows without seeing each other's."""
    with fresh_schema(postgres_url) as url:
        yield url
