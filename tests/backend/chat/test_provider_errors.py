"""explain: every way a turn can fail becomes a log kind and a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2
import openai
import pytest
from agents.exceptions import ModelBehaviorError

from backend.chat.provider_errors import StreamCutShort, busy_error, explain
from backend.chat.providers import ResolvedProvider
from backend.chat.waits import UpstreamTimeout

OPENAI = ResolvedProvider(
    name="openai",
    model="gpt-5-mini",
    base_url="https://api.openai.com/v1",
    uses_responses_api=True,
)
GEMINI = ResolvedProvider(
    name="gemini",
    model="gemini-3-flash",
    base_url="https://generativelanguage.googleapis.com/v1beta/openai/",
    uses_responses_api=False,
)


def request() -> httpx2.Request:
    return httpx2.Request("POST", "https://api.openai.com/v1/responses")


def status_error(
    error_class: type[openai.APIStatusError],
    status: int,
    message: str = "Something went wrong.",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> openai.APIStatusError:
    """The error as the openai client raises it for this response (``_make_status_error``)."""
    payload = {"error": {"message": message, "type": "invalid_request_error", **fields}}
    response = httpx2.Response(status, request=request(), json=payload, headers=headers)
    return error_class(
        f"Error code: {status} - {message}", response=response, body=payload["error"]
    )


@dataclass(frozen=True)
class Case:
    error: Exception
    kind: str
    allow_retry: bool
    words: tuple[str, ...]
    """What the message must say (the provider, what went wrong, what to do)."""
    absent: tuple[str, ...] = ()
    provider: ResolvedProvider = OPENAI
    finished: bool = False


CASES = {
    "whole turn timeout": Case(
        UpstreamTimeout(600, whole_turn=True),
        "timeout",
        True,
        (
            "OpenAI did not finish the answer within 600 seconds",
            "what arrived is kept",
            "raise CHATKIT_DESK_TURN_TIMEOUT",
        ),
        ("upstream timeout",),
    ),
    "between tokens timeout": Case(
        UpstreamTimeout(2.5, whole_turn=False),
        "timeout",
        True,
        ("OpenAI did not answer within 2.5 seconds", "raise the upstream timeout in Settings"),
        ("CHATKIT_DESK_TURN_TIMEOUT",),
    ),
    "stream cut short": Case(
        StreamCutShort(),
        "truncated",
        True,
        ("OpenAI ended the answer early", "what arrived is kept", "Try again"),
    ),
    "model behaviour before the end": Case(
        ModelBehaviorError("Invalid JSON in the stream"),
        "truncated",
        True,
        ("OpenAI ended the answer early", "what arrived is kept"),
    ),
    "model behaviour after the end": Case(
        ModelBehaviorError("Invalid JSON in the stream"),
        "model_behavior",
        True,
        ("OpenAI could not finish the answer (Invalid JSON in the stream)", "Try again"),
        finished=True,
    ),
    "authentication": Case(
        status_error(openai.AuthenticationError, 401, "Incorrect API key provided."),
        "auth",
        False,
        ("The OpenAI API key was rejected", "Settings", "`chatkit-desk keys set openai`"),
    ),
    "authentication, gemini": Case(
        status_error(openai.AuthenticationError, 401, "API key not valid."),
        "auth",
        False,
        ("The Gemini API key was rejected", "`chatkit-desk keys set gemini`"),
        provider=GEMINI,
    ),
    "permission denied": Case(
        status_error(openai.PermissionDeniedError, 403, "Project does not have access."),
        "auth",
        False,
        ("The OpenAI API key was rejected", "`chatkit-desk keys set openai`"),
    ),
    "rate limit with retry-after": Case(
        status_error(openai.RateLimitError, 429, "Rate limit reached.", {"Retry-After": "7"}),
        "rate_limit",
        True,
        ("OpenAI is rate-limiting this key", "Try again in 7 seconds."),
        ("quota", "in a minute"),
    ),
    "rate limit without retry-after": Case(
        status_error(openai.RateLimitError, 429, "Rate limit reached."),
        "rate_limit",
        True,
        ("OpenAI is rate-limiting this key", "Try again in a minute."),
        ("quota",),
    ),
    "rate limit with an http-date retry-after": Case(
        status_error(
            openai.RateLimitError,
            429,
            "Rate limit reached.",
            {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"},
        ),
        "rate_limit",
        True,
        ("Try again in a minute.",),
        ("GMT",),
    ),
    "quota used up": Case(
        status_error(
            openai.RateLimitError,
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            code="insufficient_quota",
        ),
        "rate_limit",
        True,
        ("OpenAI is rate-limiting this key", "quota may be used up", "plan and billing"),
    ),
    "unknown model": Case(
        status_error(openai.NotFoundError, 404, "The model `gpt-9` does not exist."),
        "not_found",
        False,
        (
            "OpenAI does not know the model “gpt-5-mini”",
            "Pick another model in Settings",
            "The model `gpt-9` does not exist.",
        ),
    ),
    "bad request": Case(
        status_error(openai.BadRequestError, 400, "Unsupported parameter: 'temperature'."),
        "bad_request",
        False,
        ("OpenAI refused the request: Unsupported parameter: 'temperature'.",),
    ),
    "unprocessable": Case(
        status_error(openai.UnprocessableEntityError, 422, "Input is too long."),
        "bad_request",
        False,
        ("OpenAI refused the request: Input is too long.",),
    ),
    "server error": Case(
        status_error(openai.InternalServerError, 503, "The engine is overloaded."),
        "server",
        True,
        ("OpenAI had a server error (503)", "on their side", "try again in a moment"),
    ),
    "another status": Case(
        status_error(openai.ConflictError, 409, "Conflicting request."),
        "status",
        True,
        ("OpenAI answered with an unexpected error (409): Conflicting request.",),
    ),
    "an unnamed status": Case(
        status_error(openai.APIStatusError, 418, "I'm a teapot."),
        "status",
        True,
        ("OpenAI answered with an unexpected error (418): I'm a teapot.",),
    ),
    "client timeout": Case(
        openai.APITimeoutError(request()),
        "timeout",
        True,
        ("OpenAI did not answer in time", "raise the upstream timeout in Settings"),
    ),
    "connection": Case(
        openai.APIConnectionError(request=request()),
        "connection",
        True,
        (
            "Could not reach OpenAI at https://api.openai.com/v1",
            "check your internet connection",
            "base URL in Settings",
        ),
    ),
    "connection, gemini": Case(
        openai.APIConnectionError(request=request()),
        "connection",
        True,
        ("Could not reach Gemini at https://generativelanguage.googleapis.com/v1beta/openai/",),
        provider=GEMINI,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_every_failure_kind_has_its_kind_retry_and_message(case: Case) -> None:
    failure = explain(case.error, case.provider, finished=case.finished)
    assert failure is not None
    assert failure.kind == case.kind
    assert failure.error.allow_retry is case.allow_retry
    for words in case.words:
        assert words in failure.error.message
    for words in case.absent:
        assert words not in failure.error.message


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0",
        "AIzaSy" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7",
        "key_" + "0123456789abcdefghij",
    ],
)
def test_a_key_like_string_in_the_providers_message_is_redacted(secret: str) -> None:
    error = status_error(openai.BadRequestError, 400, f"Invalid value {secret} for api_key.")
    failure = explain(error, OPENAI, finished=False)
    assert failure is not None
    assert secret not in failure.error.message
    assert "Invalid value [redacted] for api_key." in failure.error.message


def test_a_long_provider_message_is_trimmed() -> None:
    error = status_error(openai.BadRequestError, 400, "x" * 5000)
    failure = explain(error, OPENAI, finished=False)
    assert failure is not None
    assert failure.error.message == "OpenAI refused the request: " + "x" * 300


def test_a_provider_body_without_a_message_falls_back_to_the_error_text() -> None:
    response = httpx2.Response(400, request=request(), text="upstream proxy said no")
    error = openai.BadRequestError(
        "Error code: 400", response=response, body="upstream proxy said no"
    )
    failure = explain(error, OPENAI, finished=False)
    assert failure is not None
    assert failure.error.message == "OpenAI refused the request: Error code: 400"


@pytest.mark.parametrize(
    "error",
    [RuntimeError("bug"), KeyError("history"), ValueError("bad value"), TimeoutError()],
    ids=["runtime", "key", "value", "builtin timeout"],
)
def test_an_unexpected_exception_is_not_explained(error: Exception) -> None:
    assert explain(error, OPENAI, finished=False) is None


def test_busy_names_the_provider_and_the_counts_and_allows_a_retry() -> None:
    error = busy_error(GEMINI, "256 answers are in progress and 128 waiting")
    assert error.message == (
        "ChatKit Desk is busy talking to Gemini (256 answers are in progress and 128 waiting). "
        "Try again in a moment."
    )
    assert error.allow_retry is True
