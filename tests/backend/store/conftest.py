from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.storages import Backend, open_backend


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """The contract's tests run on both storages; Postgres in a schema of the test's own."""
    url = request.getfixturevalue("postgres_schema") if request.param == "postgres" else None
    opened = await open_backend(request.param, tmp_path, url)
    yield opened
    await opened.storage.close()
