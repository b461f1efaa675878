"""Used sign-in links and the rate buckets, on both storages: a link works once; a bucket lets a
burst of its capacity through, then refills at its rate (the Postgres one on the database's
clock, so these tests wait on time passing rather than moving a clock)."""

from __future__ import annotations

import time

import pytest

from backend.web.errors import ApiError
from backend.web.limits import RateLimiter
from tests.support.storages import Backend

FAR_FUTURE = 4_000_000_000


async def test_a_sign_in_link_works_once(backend: Backend) -> None:
    claims = backend.storage.used_logins
    assert await claims.claim("link-1", FAR_FUTURE)
    assert not await claims.claim("link-1", FAR_FUTURE)
    assert await claims.claim("link-2", FAR_FUTURE), "another link is another claim"


async def test_links_long_expired_are_forgotten(backend: Backend) -> None:
    claims = backend.storage.used_logins
    two_hours_ago = int(time.time()) - 7200
    assert await claims.claim("old-link", two_hours_ago)
    assert await claims.claim("new-link", FAR_FUTURE)  # claims clear out what has expired
    assert await claims.claim("old-link", two_hours_ago), "no row is kept forever"


async def test_a_burst_of_the_capacity_passes_then_none(backend: Backend) -> None:
    buckets = backend.storage.rate_buckets
    for _ in range(5):
        assert await buckets.take("alice", 5, 1e-6) is None
    held = await buckets.take("alice", 5, 1e-6)
    assert held is not None and 0 <= held < 1
    assert await buckets.take("bob", 5, 1e-6) is None, "each user has a bucket of their own"


async def test_the_bucket_refills_at_its_rate(backend: Backend) -> None:
    buckets = backend.storage.rate_buckets
    started = time.monotonic()
    assert await buckets.take("alice", 1, 2.0) is None  # a token every 0.5 s
    while await buckets.take("alice", 1, 2.0) is not None:
        assert time.monotonic() - started < 60, "the bucket never refilled"
    assert time.monotonic() - started >= 0.5 - 0.01


async def test_a_refusal_says_when_to_retry(backend: Backend) -> None:
    limiter = RateLimiter(6, backend.storage.rate_buckets)  # a request every 10 s
    started = time.monotonic()
    for _ in range(6):
        await limiter.check("alice")
    with pytest.raises(ApiError) as refused:
        await limiter.check("alice")
    elapsed = time.monotonic() - started

    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    wait = int(refused.value.headers["Retry-After"])
    assert max(1, 10 - int(elapsed) - 1) <= wait <= 10, "10 s, less what refilled meanwhile"
