"""RateLimiter (a token bucket per user) and StreamSlots (concurrent streams per user, in all)."""

from __future__ import annotations

import pytest

from backend.store.rate_buckets import MemoryTokenBuckets
from backend.web.errors import ApiError
from backend.web.limits import RateLimiter, StreamSlots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def refusal(limiter: RateLimiter, user: str) -> ApiError:
    with pytest.raises(ApiError) as refused:
        await limiter.check(user)
    return refused.value


# RateLimiter


async def test_a_burst_up_to_the_limit_passes(clock: Clock) -> None:
    limiter = RateLimiter(per_minute=5, buckets=MemoryTokenBuckets(clock))
    for _ in range(5):
        await limiter.check("alice")


async def test_the_request_past_the_limit_gets_429_with_retry_after(clock: Clock) -> None:
    limiter = RateLimiter(per_minute=6, buckets=MemoryTokenBuckets(clock))  # one every 10 s
    for _ in range(6):
        await limiter.check("alice")
    error = await refusal(limiter, "alice")
    assert (error.status, error.code) == (429, "rate_limited")
    assert error.headers == {"Retry-After": "10"}
    assert error.message == (
        "Too many requests; try again in 10 s (the limit is CHATKIT_DESK_RATE_LIMIT_PER_MINUTE)."
    )


async def test_retry_after_counts_what_has_refilled_already(clock: Clock) -> None:
    limiter = RateLimiter(per_minute=6, buckets=MemoryTokenBuckets(clock))
    for _ in range(6):
        await limiter.check("alice")
    clock.advance(4)
    assert (await refusal(limiter, "alice")).headers == {"Retry-After": "6"}
    clock.advance(5.5)
    assert (await refusal(limiter, "alice")).headers == {"Retry-After": "1"}  # 0.5 s, rounded up


async def test_a_client_that_waits_retry_after_gets_in(clock: Clock) -> None:
    for per_minute in (1, 7, 60, 600, 601):
        limiter = RateLimiter(per_minute=per_minute, buckets=MemoryTokenBuckets(clock))
        for _ in range(per_minute):
            await limiter.check("alice")
        wait = int((await refusal(limiter, "alice")).headers["Retry-After"])
        clock.advance(wait)
        await limiter.check("alice")


async def test_refused_requests_do_not_use_up_the_refill(clock: Clock) -> None:
    limiter = RateLimiter(per_minute=6, buckets=MemoryTokenBuckets(clock))
    for _ in range(6):
        await limiter.check("alice")
    for _ in range(5):
        await refusal(limiter, "alice")
    clock.advance(10)
    await limiter.check("alice")


async def test_the_bucket_refills_over_time(clock: Clock) -> None:
    limiter = RateLimiter(per_minute=60, buckets=MemoryTokenBuckets(clock))  # one a second
    for _ in range(60):
        await limiter.check("alice")
    await refusal(limiter, "alice")
    clock.advance(3)
    for _ in range(3):
        await limiter.check("alice")
    await refusal(limiter, "alice")


async def test_a_long_idle_refills_only_up_to_the_limit(clock: Clock) -> None:
    limiter = RateLimiter(per_minute=3, buckets=MemoryTokenBuckets(clock))
    await limiter.check("alice")
    clock.advance(3600)
    for _ in range(3):
        await limiter.check("alice")
    await refusal(limiter, "alice")


async def test_users_have_their_own_buckets(clock: Clock) -> None:
    limiter = RateLimiter(per_minute=2, buckets=MemoryTokenBuckets(clock))
    for _ in range(2):
        await limiter.check("alice")
    await refusal(limiter, "alice")
    for _ in range(2):
        await limiter.check("bob")
    await refusal(limiter, "bob")


# StreamSlots


def test_a_user_gets_up_to_their_cap_of_streams() -> None:
    slots = StreamSlots(per_user=2, total=10)
    slots.acquire("alice")
    slots.acquire("alice")
    assert slots.active == 2
    with pytest.raises(ApiError) as refused:
        slots.acquire("alice")
    error = refused.value
    assert (error.status, error.code) == (429, "too_many_streams")
    assert error.headers == {"Retry-After": "1"}
    assert error.message == (
        "You already have 2 answers streaming; wait for one to finish "
        "(CHATKIT_DESK_MAX_STREAMS_PER_USER)."
    )
    assert slots.active == 2


def test_the_server_caps_streams_in_total() -> None:
    slots = StreamSlots(per_user=2, total=3)
    slots.acquire("alice")
    slots.acquire("alice")
    slots.acquire("bob")
    with pytest.raises(ApiError) as refused:
        slots.acquire("carol")
    error = refused.value
    assert (error.status, error.code) == (429, "too_many_streams")
    assert error.headers == {"Retry-After": "1"}
    assert error.message == (
        "The server is streaming 3 answers already; try again shortly (CHATKIT_DESK_MAX_STREAMS)."
    )
    assert slots.active == 3


def test_one_users_streams_leave_room_for_another() -> None:
    slots = StreamSlots(per_user=1, total=10)
    slots.acquire("alice")
    slots.acquire("bob")
    assert slots.active == 2


def test_a_slot_is_given_back_when_its_stream_ends() -> None:
    slots = StreamSlots(per_user=1, total=1)
    with slots.slot("alice"):
        assert slots.active == 1
    assert slots.active == 0
    with slots.slot("bob"):
        assert slots.active == 1


def test_a_slot_is_given_back_when_its_stream_fails() -> None:
    slots = StreamSlots(per_user=1, total=5)
    with pytest.raises(RuntimeError, match="client left"), slots.slot("alice"):
        raise RuntimeError("client left")
    assert slots.active == 0
    with slots.slot("alice"):  # alice's own cap is free again too
        assert slots.active == 1


def test_a_refused_slot_takes_nothing() -> None:
    slots = StreamSlots(per_user=1, total=5)
    with slots.slot("alice"):
        with pytest.raises(ApiError), slots.slot("alice"):
            pytest.fail("a second stream got a slot")
        assert slots.active == 1
    assert slots.active == 0


def test_a_users_other_streams_still_count_after_one_ends() -> None:
    slots = StreamSlots(per_user=2, total=10)
    slots.acquire("alice")
    with slots.slot("alice"):
        pass
    slots.acquire("alice")
    with pytest.raises(ApiError, match="You already have 2 answers streaming"):
        slots.acquire("alice")
    assert slots.active == 2


def test_streams_released_one_by_one_free_the_user_again() -> None:
    slots = StreamSlots(per_user=2, total=5)
    slots.acquire("alice")
    slots.acquire("alice")
    slots.release("alice")
    slots.acquire("alice")
    slots.release("alice")
    slots.release("alice")
    assert slots.active == 0
    slots.acquire("alice")
    slots.acquire("alice")
    assert slots.active == 2
