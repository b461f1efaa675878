"""Token usage: what a turn used, as the provider bills it, added up in the thread's metadata.

The thread's ``metadata.usage`` holds the totals of all its turns and the usage of its latest
answers by item id; ChatKit does not send a thread's metadata to clients, so they ask
``GET /api/threads/{id}/usage`` (the built-in page shows both). Gemini's compatible endpoint
leaves thought tokens out of ``completion_tokens`` but bills them: its output is
``total − input`` then, and the difference is its reasoning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from agents.usage import Usage
from chatkit.types import ThreadMetadata

ANSWERS_KEPT = 50
"""Per-answer usage is kept for a thread's latest answers (totals cover every turn)."""


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 0

    @classmethod
    def of_run(cls, usage: Usage) -> TokenUsage:
        reasoning = usage.output_tokens_details.reasoning_tokens or 0
        output = usage.output_tokens
        unbilled = usage.total_tokens - usage.input_tokens - usage.output_tokens
        if unbilled > 0:  # thoughts counted in the total only (Gemini): billed as output
            output += unbilled
            reasoning = max(reasoning, unbilled)
        return cls(
            input_tokens=usage.input_tokens,
            cached_tokens=usage.input_tokens_details.cached_tokens or 0,
            output_tokens=output,
            reasoning_tokens=reasoning,
            requests=usage.requests,
        )

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            *(mine + theirs for mine, theirs in zip(_values(self), _values(other), strict=True))
        )

    def __sub__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            *(
                max(0, mine - theirs)
                for mine, theirs in zip(_values(self), _values(other), strict=True)
            )
        )


def _values(usage: TokenUsage) -> tuple[int, ...]:
    return tuple(asdict(usage).values())


def _from(stored: Any) -> TokenUsage:
    """Usage as kept in a thread's metadata (anything else counts as none)."""
    if not isinstance(stored, dict):
        return TokenUsage()
    return TokenUsage(**{k: int(stored.get(k) or 0) for k in asdict(TokenUsage())})


def add_to_thread(thread: ThreadMetadata, used: TokenUsage, answer_id: str | None) -> None:
    """Add a turn's usage to the thread's totals, and to its answer's when it has one."""
    current = thread.metadata.get("usage")
    current = current if isinstance(current, dict) else {}
    answers: dict[str, Any] = dict(current.get("answers") or {})
    if answer_id is not None:
        earlier = _from(answers.pop(answer_id, None))  # a resumed run adds to the same answer
        answers[answer_id] = asdict(earlier + used)
        while len(answers) > ANSWERS_KEPT:
            answers.pop(next(iter(answers)))
    thread.metadata = {
        **thread.metadata,
        "usage": {**asdict(_from(current) + used), "answers": answers},
    }


def thread_usage(thread: ThreadMetadata) -> dict[str, Any]:
    """A thread's usage as clients get it: ``total`` and ``answers`` (by assistant item id)."""
    current = thread.metadata.get("usage")
    current = current if isinstance(current, dict) else {}
    answers = current.get("answers") if isinstance(current.get("answers"), dict) else {}
    return {
        "total": asdict(_from(current)),
        "answers": {answer: asdict(_from(used)) for answer, used in answers.items()},
    }
