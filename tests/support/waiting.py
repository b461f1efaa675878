"""Waiting on a condition with a deadline: the one way tests synchronise with other processes."""

from __future__ import annotations

import time
from collections.abc import Callable

DEADLINE_SECONDS = 60.0
"""Generous: a busy 2-core machine can take many seconds to start a Python server."""


def wait_until(
    condition: Callable[[], object], what: str, seconds: float = DEADLINE_SECONDS
) -> None:
    """Return once ``condition()`` is true; fail saying ``what`` did not happen otherwise."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} (waited {seconds:g} s)")
        time.sleep(0.05)
