"""Team mode with several replicas, each stood for by a connection pool of its own on one
Postgres: what one writes, claims or spends is exactly what the others see."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from chatkit.types import ThreadMetadata

from backend.store.postgres.storage import PostgresStorage
from tests.backend.store.test_store_contract import user_message
from tests.support.contexts import context_for
from tests.support.storages import postgres_storage

ALICE = context_for("alice")
DEADLINE_SECONDS = 60.0


@pytest.fixture
async def replicas(postgres_schema: str) -> AsyncIterator[tuple[PostgresStorage, PostgresStorage]]:
    first = await postgres_storage(postgres_schema, pool_size=10)
    second = await postgres_storage(postgres_schema, pool_size=10)
    yield first, second
    await first.close()
    await second.close()


async def test_concurrent_writers_and_a_pager_see_every_item_once_in_commit_order(
    replicas: tuple[PostgresStorage, PostgresStorage],
) -> None:
    first, second = replicas
    await first.store.save_thread(ThreadMetadata(id="t1", created_at=datetime.now()), ALICE)
    written = 100
    writers_done = asyncio.Event()

    async def write(index: int) -> None:
        store = (first, second)[index % 2].store
        await store.add_thread_item("t1", user_message(f"m{index}", "t1"), ALICE)

    async def page_along() -> list[str]:
        """What a client paging forward while the answers arrive sees, page by page."""
        seen: list[str] = []
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            after = seen[-1] if seen else None
            page = await second.store.load_thread_items("t1", after, 7, "asc", ALICE)
            seen += [item.id for item in page.data]
            if not page.data and writers_done.is_set() and len(seen) >= written:
                return seen
            assert time.monotonic() < deadline, f"saw {len(seen)} of {written} items"
            if not page.data:
                await asyncio.sleep(0)  # let the writers on

    async def write_all() -> None:
        await asyncio.gather(*(write(index) for index in range(written)))
        writers_done.set()

    seen, _ = await asyncio.gather(page_along(), write_all())

    stored = await first.store.load_thread_items("t1", None, 1000, "asc", ALICE)
    assert sorted(seen) == sorted(f"m{index}" for index in range(written)), "each item once"
    assert seen == [item.id for item in stored.data], "in the order they are stored"
    positions = [
        row["pos"]
        for row in await first.database.pool.fetch(
            "SELECT pos FROM items WHERE thread_id = 't1' ORDER BY pos"
        )
    ]
    assert positions == list(range(1, written + 1)), "numbered without gaps in commit order"


async def test_a_sign_in_link_claimed_on_every_replica_at_once_works_once(
    replicas: tuple[PostgresStorage, PostgresStorage],
) -> None:
    claims = [replicas[index % 2].used_logins.claim("link-1", 4_000_000_000) for index in range(20)]
    assert sorted(await asyncio.gather(*claims)) == [False] * 19 + [True]


async def test_the_rate_limit_is_shared_exactly(
    replicas: tuple[PostgresStorage, PostgresStorage],
) -> None:
    # A bucket of 5 that refills one token a day: the count stays exact however slowly this
    # machine runs the hits (the limiter's own arithmetic is tested in test_shared_state).
    async def hit(index: int) -> bool:
        held = await replicas[index % 2].rate_buckets.take("alice", 5, 1 / 86400)
        return held is None

    passed = await asyncio.gather(*(hit(index) for index in range(20)))
    assert passed.count(True) == 5
