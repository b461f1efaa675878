"""What one agent turn did, reported once at its end: for logs and metrics, never the text."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TurnRecord:
    provider: str
    model: str
    thread_id: str
    started: float = field(default_factory=time.perf_counter)
    first_token_seconds: float | None = None
    duration_seconds: float = 0.0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    tool_calls: int = 0
    outcome: str = "ok"
    """``ok``, ``cancelled``, or the kind of failure (``auth``, ``timeout``, ``busy``, …)."""

    def first_token(self) -> None:
        if self.first_token_seconds is None:
            self.first_token_seconds = time.perf_counter() - self.started

    def finish(self) -> None:
        self.duration_seconds = time.perf_counter() - self.started


TurnListener = Callable[[TurnRecord], None]
