"""A cap on concurrent upstream requests per provider, with a short queue in front of it.

Providers throttle a key that opens too many streams at once; past the cap, a turn waits its
turn in a short queue, and when the queue is full too it is refused at once with a clear
"busy" message instead of piling up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


class ProviderBusy(Exception):
    pass


@dataclass
class _Lane:
    semaphore: asyncio.Semaphore
    waiting: int = 0
    active: int = field(default=0)


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
                raise ProviderBusy(
                    f"{lane.active} answers are in progress and {lane.waiting} waiting"
                )
            lane.waiting += 1
            try:
                await asyncio.wait_for(lane.semaphore.acquire(), self.wait_seconds)
            except TimeoutError:
                raise ProviderBusy(f"{lane.active} answers are in progress") from None
            finally:
                lane.waiting -= 1
        else:
            await lane.semaphore.acquire()
        lane.active += 1
        try:
            yield
        finally:
            lane.active -= 1
            lane.semaphore.release()
