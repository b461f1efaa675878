"""Turn a failed turn into a message a person can act on, and a short name for logs.

The ChatKit SDK shows any exception from ``respond`` as a bare "stream.error"; raising
``CustomStreamError`` with one of these messages is what lets the user see what went wrong.
One table (``explain``) classifies every failure, so the log's kind and the user's message
never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import openai
from agents.exceptions import MaxTurnsExceeded, ModelBehaviorError
from chatkit.errors import CustomStreamError

from backend.chat.providers import ResolvedProvider
from backend.chat.waits import ServerRestarting, UpstreamTimeout

_UPSTREAM_DETAIL_LIMIT = 300
_SECRET_LOOKING = re.compile(r"\b(sk|AIza|key|tok)[-_A-Za-z0-9]{12,}")
RESTARTING = "The server is restarting — send your message again; what arrived so far is kept."


class StreamCutShort(Exception):
    """The provider's stream ended cleanly but without finishing the answer."""


@dataclass(frozen=True)
class Failure:
    kind: str
    """A short, bounded name for logs and metrics: ``auth``, ``rate_limit``, ``timeout``, …"""
    error: CustomStreamError
    """What the user is told."""


def _retry_after_seconds(error: openai.APIStatusError) -> str | None:
    value = error.response.headers.get("retry-after")
    if value and value.strip().isdigit():
        return value.strip()
    return None


def _upstream_detail(error: openai.APIError) -> str:
    """The provider's own explanation, trimmed and with anything key-like removed."""
    body = error.body
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Gemini: [{"error": …}]
        body = body[0].get("error", body[0])
    message = body.get("message") if isinstance(body, dict) else None
    text = str(message or error.message or "")
    text = _SECRET_LOOKING.sub("[redacted]", text)
    return text[:_UPSTREAM_DETAIL_LIMIT].strip()


def busy_error(provider: ResolvedProvider, detail: str) -> CustomStreamError:
    return CustomStreamError(
        f"ChatKit Desk is busy talking to {provider.label} ({detail}). Try again in a moment.",
        allow_retry=True,
    )


def explain(error: Exception, provider: ResolvedProvider, finished: bool) -> Failure | None:
    """What a failed turn was and what to tell the user; ``None`` for an unexpected error.

    ``finished`` says whether the provider said the answer was complete before it failed.
    """
    label = provider.label
    match error:
        case ServerRestarting():
            return Failure("restarting", CustomStreamError(RESTARTING, allow_retry=True))
        case UpstreamTimeout(whole_turn=True):
            return Failure(
                "timeout",
                CustomStreamError(
                    f"{label} did not finish the answer within {error.seconds:g} seconds; what "
                    "arrived is kept. Try again, or raise CHATKIT_DESK_TURN_TIMEOUT.",
                    allow_retry=True,
                ),
            )
        case UpstreamTimeout():
            return Failure(
                "timeout",
                CustomStreamError(
                    f"{label} did not answer within {error.seconds:g} seconds. The service may "
                    "be overloaded; try again, or raise the upstream timeout in Settings.",
                    allow_retry=True,
                ),
            )
        case StreamCutShort():
            return _truncated(provider)
        case ModelBehaviorError() if not finished:
            return _truncated(provider)
        case MaxTurnsExceeded():
            return Failure(
                "tool_steps",
                CustomStreamError(
                    "The model kept calling tools without reaching an answer, and was stopped "
                    "at the step limit (CHATKIT_DESK_MAX_TOOL_STEPS). Ask again more precisely, "
                    "or raise the limit.",
                    allow_retry=True,
                ),
            )
        case openai.AuthenticationError() | openai.PermissionDeniedError():
            return Failure(
                "auth",
                CustomStreamError(
                    f"The {label} API key was rejected — set a new one in Settings "
                    f"(or run `chatkit-desk keys set {provider.name}`).",
                    allow_retry=False,
                ),
            )
        case openai.RateLimitError():
            wait = _retry_after_seconds(error)
            when = f"in {wait} seconds" if wait else "in a minute"
            quota = (
                " Your quota may be used up; check your plan and billing."
                if "quota" in _upstream_detail(error).lower()
                else ""
            )
            return Failure(
                "rate_limit",
                CustomStreamError(
                    f"{label} is rate-limiting this key. Try again {when}.{quota}",
                    allow_retry=True,
                ),
            )
        case openai.NotFoundError():
            return Failure(
                "not_found",
                CustomStreamError(
                    f"{label} does not know the model “{provider.model}”. Pick another model "
                    f"in Settings. ({_upstream_detail(error)})",
                    allow_retry=False,
                ),
            )
        case openai.BadRequestError() | openai.UnprocessableEntityError():
            return Failure(
                "bad_request",
                CustomStreamError(
                    f"{label} refused the request: {_upstream_detail(error)}",
                    allow_retry=False,
                ),
            )
        case openai.InternalServerError():
            return Failure(
                "server",
                CustomStreamError(
                    f"{label} had a server error ({error.status_code}). This is on their "
                    "side; try again in a moment.",
                    allow_retry=True,
                ),
            )
        case openai.APIStatusError():
            return Failure(
                "status",
                CustomStreamError(
                    f"{label} answered with an unexpected error ({error.status_code}): "
                    f"{_upstream_detail(error)}",
                    allow_retry=True,
                ),
            )
        case openai.APITimeoutError():
            return Failure(
                "timeout",
                CustomStreamError(
                    f"{label} did not answer in time. Try again, or raise the upstream "
                    "timeout in Settings.",
                    allow_retry=True,
                ),
            )
        case openai.APIConnectionError():
            return Failure(
                "connection",
                CustomStreamError(
                    f"Could not reach {label} at {provider.base_url} — check your internet "
                    "connection (or the base URL in Settings) and try again.",
                    allow_retry=True,
                ),
            )
        case ModelBehaviorError():
            return Failure(
                "model_behavior",
                CustomStreamError(
                    f"{label} could not finish the answer ({error}). Try again.",
                    allow_retry=True,
                ),
            )
    return None


def _truncated(provider: ResolvedProvider) -> Failure:
    return Failure(
        "truncated",
        CustomStreamError(
            f"{provider.label} ended the answer early; what arrived is kept. Try again.",
            allow_retry=True,
        ),
    )
