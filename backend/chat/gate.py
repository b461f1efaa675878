"""A cap on concurrent upstream requests per provider, with a short queue in front of it.

Providers throttle a key that opens too many streams at once; past the cap, a turn waits its
turn in a short queue, and when the queue is full too it is refused at once with a clear
"busy" message instead of piling up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


class ProviderBusy(Exception):
    pass


@dataclass
class _Lane:
    semaphore: asyncio.Semaphore
    waiting: int = 0
    active: int = 0

    def describe(self) -> str:
        answers = "1 answer is" if self.active == 1 else f"{self.active} answers are"
        waiting = f" and {self.waiting} waiting" if self.waiting else ""
        return f"{answers} in progress{waiting}"


class ProviderGate:
    def __init__(self, concurrency: int, queue: int, wait_seconds: float) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self.wait_seconds = wait_seconds
        self._lanes: dict[str, _Lane] = {}

    def _lane(self, provider: str) -> _Lane:
        lane = self._lanes.get(provider)
        if lane is None:
            lane = self._lanes[provider] = _Lane(asyncio.Semaphore(self.concurrency))
        return lane

    @asynccontextmanager
    async def slot(self, provider: str) -> AsyncIterator[None]:
        lane = self._lane(provider)
        if lane.semaphore.locked():
            if lane.waiting >= self.queue:
                raise ProviderBusy(lane.describe())
            lane.waiting += 1
            try:
                await asyncio.wait_for(lane.semaphore.acquire(), self.wait_seconds)
                timed_out = False
            except TimeoutError:
                timed_out = True
            finally:
                lane.waiting -= 1
            if timed_out:  # said once this turn has left the queue
                raise ProviderBusy(lane.describe())
        else:
            await lane.semaphore.acquire()
        lane.active += 1
        try:
            yield
        finally:
            lane.active -= 1
            lane.semaphore.release()
