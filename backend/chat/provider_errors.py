"""Turn provider failures into messages a person can act on.

The ChatKit SDK shows any exception from ``respond`` as a bare "stream.error"; raising
``CustomStreamError`` with one of these messages is what lets the user see what went wrong.
"""

from __future__ import annotations

import re

import openai
from agents.exceptions import ModelBehaviorError
from chatkit.errors import CustomStreamError

from backend.chat.providers import ResolvedProvider

_UPSTREAM_DETAIL_LIMIT = 300
_SECRET_LOOKING = re.compile(r"\b(sk|AIza|key|tok)[-_A-Za-z0-9]{12,}")


def _retry_after_seconds(error: openai.APIStatusError) -> str | None:
    value = error.response.headers.get("retry-after")
    if value and value.strip().isdigit():
        return value.strip()
    return None


def _upstream_detail(error: openai.APIError) -> str:
    """The provider's own explanation, trimmed and with anything key-like removed."""
    body = error.body
    message = body.get("message") if isinstance(body, dict) else None
    text = str(message or error.message or "")
    text = _SECRET_LOOKING.sub("[redacted]", text)
    return text[:_UPSTREAM_DETAIL_LIMIT].strip()


def timeout_error(
    provider: ResolvedProvider, seconds: float, whole_turn: bool = False
) -> CustomStreamError:
    if whole_turn:
        return CustomStreamError(
            f"{provider.label} did not finish the answer within {seconds:g} seconds; what "
            "arrived is kept. Try again, or raise CHATKIT_DESK_TURN_TIMEOUT.",
            allow_retry=True,
        )
    return CustomStreamError(
        f"{provider.label} did not answer within {seconds:g} seconds. The service may be "
        "overloaded; try again, or raise the upstream timeout in Settings.",
        allow_retry=True,
    )


def truncated_error(provider: ResolvedProvider) -> CustomStreamError:
    return CustomStreamError(
        f"{provider.label} ended the answer early; what arrived is kept. Try again.",
        allow_retry=True,
    )


def busy_error(provider: ResolvedProvider, detail: str) -> CustomStreamError:
    return CustomStreamError(
        f"ChatKit Desk is busy talking to {provider.label} ({detail}). Try again in a moment.",
        allow_retry=True,
    )


def kind_of(error: Exception) -> str:
    """A short, bounded name for a provider failure, for logs and metrics."""
    match error:
        case openai.AuthenticationError() | openai.PermissionDeniedError():
            return "auth"
        case openai.RateLimitError():
            return "rate_limit"
        case openai.NotFoundError():
            return "not_found"
        case openai.BadRequestError() | openai.UnprocessableEntityError():
            return "bad_request"
        case openai.InternalServerError():
            return "server"
        case openai.APIStatusError():
            return "status"
        case openai.APITimeoutError():
            return "timeout"
        case openai.APIConnectionError():
            return "connection"
        case ModelBehaviorError():
            return "model_behavior"
    return "internal"


def to_stream_error(error: Exception, provider: ResolvedProvider) -> CustomStreamError | None:
    """A user-facing ``CustomStreamError`` for a provider failure, ``None`` if not one."""
    label = provider.label
    match error:
        case openai.AuthenticationError() | openai.PermissionDeniedError():
            return CustomStreamError(
                f"The {label} API key was rejected — set a new one in Settings "
                f"(or run `chatkit-desk keys set {provider.name}`).",
                allow_retry=False,
            )
        case openai.RateLimitError():
            wait = _retry_after_seconds(error)
            when = f"in {wait} seconds" if wait else "in a minute"
            detail = _upstream_detail(error)
            quota = (
                " Your quota may be used up; check your plan and billing."
                if ("quota" in detail.lower())
                else ""
            )
            return CustomStreamError(
                f"{label} is rate-limiting this key. Try again {when}.{quota}",
                allow_retry=True,
            )
        case openai.NotFoundError():
            return CustomStreamError(
                f"{label} does not know the model “{provider.model}”. Pick another model in "
                f"Settings. ({_upstream_detail(error)})",
                allow_retry=False,
            )
        case openai.BadRequestError() | openai.UnprocessableEntityError():
            return CustomStreamError(
                f"{label} refused the request: {_upstream_detail(error)}",
                allow_retry=False,
            )
        case openai.InternalServerError():
            return CustomStreamError(
                f"{label} had a server error ({error.status_code}). This is on their side; "
                "try again in a moment.",
                allow_retry=True,
            )
        case openai.APIStatusError():
            return CustomStreamError(
                f"{label} answered with an unexpected error ({error.status_code}): "
                f"{_upstream_detail(error)}",
                allow_retry=True,
            )
        case openai.APITimeoutError():
            return CustomStreamError(
                f"{label} did not answer in time. Try again, or raise the upstream timeout in "
                "Settings.",
                allow_retry=True,
            )
        case openai.APIConnectionError():
            return CustomStreamError(
                f"Could not reach {label} at {provider.base_url} — check your internet "
                "connection (or the base URL in Settings) and try again.",
                allow_retry=True,
            )
        case ModelBehaviorError():
            return CustomStreamError(
                f"{label} could not finish the answer ({error}). Try again.",
                allow_retry=True,
            )
    return None
