"""A throwaway Postgres cluster for the tests: Debian's ``postgresql``, on a unix socket only.

Postgres refuses to run as root, so as root (CI, this machine) ``initdb`` and ``pg_ctl`` run as
the ``postgres`` user through ``runuser``; the cluster lives in a temporary directory that user
owns (not under pytest's own temporary directory, which only root may enter). ``fsync`` is off:
the data is thrown away. ``CHATKIT_DESK_TEST_DATABASE_URL`` points the tests at a running
server instead.

Without Postgres the tests that need it are skipped, except under ``CI=true``, where that is a
failure: a CI run must never pass by not testing team mode.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

URL_ENV = "CHATKIT_DESK_TEST_DATABASE_URL"
START_DEADLINE_SECONDS = 120.0
"""Generous: initdb alone takes seconds on a busy 2-core machine."""


class PostgresMissing(Exception):
    pass


@dataclass
class Cluster:
    """A running cluster, stopped and removed by ``stop``."""

    directory: Path
    bin_dir: Path
    url: str

    def stop(self) -> None:
        pg_ctl = str(self.bin_dir / "pg_ctl")
        data = str(self.directory / "data")
        _as_postgres([pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "60", "stop"], check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise PostgresMissing("no PostgreSQL found: apt-get install postgresql")
    return Path(candidates[-1]).parent


def _as_postgres(command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(
        command, check=check, capture_output=True, text=True, timeout=START_DEADLINE_SECONDS
    )


def start_cluster() -> Cluster:
    bin_dir = _bin_dir()
    directory = Path(tempfile.mkdtemp(prefix="chatkit-desk-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    data = directory / "data"
    _as_postgres(
        [
            *(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
            *("--no-sync", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"),
        ]
    )
    options = (
        f"-c listen_addresses='' -k {directory} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    _as_postgres(
        [
            *(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "log")),
            *("-o", options, "-w", "-t", str(int(START_DEADLINE_SECONDS)), "start"),
        ]
    )
    cluster = Cluster(directory, bin_dir, f"postgresql://postgres@/postgres?host={directory}")
    _wait_until_accepting(cluster)
    return cluster


def _wait_until_accepting(cluster: Cluster) -> None:
    """``pg_ctl -w`` waits already; this also covers a server still recovering or starting."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while True:
        ready = _as_postgres(
            [str(cluster.bin_dir / "pg_isready"), "-h", str(cluster.directory), "-U", "postgres"],
            check=False,
        )
        if ready.returncode == 0:
            return
        if time.monotonic() > deadline:
            log = (cluster.directory / "log").read_text(errors="replace")[-2000:]
            cluster.stop()
            raise AssertionError(f"Postgres did not accept connections: {log}")
        time.sleep(0.1)


def missing(reason: str) -> None:
    """Skip, or under CI fail: Postgres is part of what CI installs (``.ci/run``)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: team mode must be tested)", pytrace=False)
    pytest.skip(reason)


def in_schema(url: str, schema: str) -> str:
    """``url`` for connections that work in ``schema`` (asyncpg passes unknown query
    parameters on as server settings)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("search_path", schema)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def execute(url: str, sql: str) -> None:
    """Run ``sql`` on its own connection, from any thread, even one whose event loop runs."""
    _on_connection(url, lambda connection: connection.execute(sql))


def fetch(url: str, sql: str, *args: object) -> list[dict[str, Any]]:
    """The rows of a query, as ``execute`` runs it: what the replicas stored, read directly."""
    rows = _on_connection(url, lambda connection: connection.fetch(sql, *args))
    return [dict(row) for row in rows]


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A URL whose connections work in a new empty schema, dropped afterwards (stop the servers
    using it first)."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    execute(url, f"CREATE SCHEMA {name}")
    try:
        yield in_schema(url, name)
    finally:
        execute(url, f"DROP SCHEMA {name} CASCADE")


def _on_connection(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """``work`` on a connection of its own, on an event loop of its own in a thread of its own."""

    async def run() -> Any:
        import asyncpg

        connection = await asyncpg.connect(url)
        try:
            return await work(connection)
        finally:
            await connection.close()

    outcome: list[Any] = []
    failure: list[BaseException] = []

    def in_thread() -> None:
        try:
            outcome.append(asyncio.run(run()))
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return outcome[0]
