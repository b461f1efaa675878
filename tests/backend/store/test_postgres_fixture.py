"""The tests' Postgres: without it, team mode's tests are skipped on a developer's machine, and
fail the run under CI, where a missing install must never pass as "nothing to test"."""

from __future__ import annotations

import pytest

from tests.support.postgres import missing


def test_without_postgres_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing("no PostgreSQL found")


def test_without_postgres_a_developer_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL found"):
        missing("no PostgreSQL found")
