"""Team mode's schema: numbered like SQLite's, applied once however many replicas start at once,
and refused by a replica older than the database."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import pytest

from backend.store.database import DatabaseUnusable
from backend.store.migrations import POSTGRES, SQLITE, latest
from backend.store.postgres.database import migrate, redacted


async def applied(url: str) -> list[int]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await connection.close()
    return [row["version"] for row in rows]


def test_the_migrations_are_numbered_one_by_one_from_one() -> None:
    assert [m.version for m in POSTGRES] == list(range(1, len(POSTGRES) + 1))


async def test_three_migrators_at_once_apply_each_migration_once(postgres_schema: str) -> None:
    versions = await asyncio.gather(*(migrate(postgres_schema) for _ in range(3)))

    assert versions == [latest(POSTGRES)] * 3
    assert await applied(postgres_schema) == [m.version for m in POSTGRES]


async def test_migrating_again_changes_nothing(postgres_schema: str) -> None:
    await migrate(postgres_schema)
    assert await migrate(postgres_schema) == latest(POSTGRES)
    assert await applied(postgres_schema) == [m.version for m in POSTGRES]


async def test_a_database_newer_than_the_code_is_refused(postgres_schema: str) -> None:
    await migrate(postgres_schema)
    connection = await asyncpg.connect(postgres_schema)
    await connection.execute(
        "INSERT INTO schema_migrations (version, purpose) VALUES ($1, 'later')",
        latest(POSTGRES) + 1,
    )
    await connection.close()

    with pytest.raises(DatabaseUnusable, match="newer than this ChatKit Desk knows"):
        await migrate(postgres_schema)


async def test_without_the_driver_team_mode_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as in the desktop bundle
    with pytest.raises(DatabaseUnusable, match=r"install chatkit-desk\[team\]"):
        await migrate("postgresql://desk@db/desk")


def test_a_password_never_shows_in_messages() -> None:
    assert (
        redacted("postgresql://desk:hunter2@db:5432/desk") == "postgresql://desk:***@db:5432/desk"
    )
    assert redacted("postgresql://desk@db/desk") == "postgresql://desk@db/desk"


def test_both_storages_describe_the_same_schema_versions() -> None:
    assert [m.version for m in POSTGRES] == [m.version for m in SQLITE]
