"""Token usage as the provider bills it, added up in the thread's metadata."""

from __future__ import annotations

from datetime import datetime

from agents.usage import Usage
from chatkit.types import ThreadMetadata
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from backend.chat.usage import ANSWERS_KEPT, TokenUsage, add_to_thread


def run_usage(input: int, output: int, total: int, cached: int = 0, reasoning: int = 0) -> Usage:
    return Usage(
        requests=1,
        input_tokens=input,
        output_tokens=output,
        total_tokens=total,
        input_tokens_details=InputTokensDetails(cached_tokens=cached, cache_write_tokens=0),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning),
    )


def test_openai_usage_is_taken_as_it_comes() -> None:
    used = TokenUsage.of_run(run_usage(100, 30, 130, cached=40, reasoning=12))
    assert used == TokenUsage(100, 40, 30, 12, 1)


def test_thoughts_only_in_geminis_total_are_billed_as_output_and_reasoning() -> None:
    used = TokenUsage.of_run(run_usage(100, 30, 150))
    assert (used.output_tokens, used.reasoning_tokens) == (50, 20)


def test_turns_add_up_in_the_thread_and_per_answer() -> None:
    thread = ThreadMetadata(id="t", created_at=datetime.now())
    add_to_thread(thread, TokenUsage(10, 0, 5, 0, 1), "msg_1")
    add_to_thread(thread, TokenUsage(20, 8, 6, 2, 2), "msg_2")
    add_to_thread(thread, TokenUsage(1, 0, 1, 0, 1), "msg_2")  # a resumed run: the same answer

    usage = thread.metadata["usage"]
    assert {k: usage[k] for k in ("input_tokens", "cached_tokens", "output_tokens")} == {
        "input_tokens": 31,
        "cached_tokens": 8,
        "output_tokens": 12,
    }
    assert usage["reasoning_tokens"] == 2 and usage["requests"] == 4
    assert usage["answers"]["msg_2"]["input_tokens"] == 21
    assert usage["answers"]["msg_1"]["output_tokens"] == 5


def test_only_the_latest_answers_are_kept_one_by_one() -> None:
    thread = ThreadMetadata(id="t", created_at=datetime.now())
    for number in range(ANSWERS_KEPT + 5):
        add_to_thread(thread, TokenUsage(1, 0, 1, 0, 1), f"msg_{number}")
    answers = thread.metadata["usage"]["answers"]
    assert len(answers) == ANSWERS_KEPT and "msg_0" not in answers
    assert thread.metadata["usage"]["input_tokens"] == ANSWERS_KEPT + 5
