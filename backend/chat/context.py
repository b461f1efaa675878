"""The per-request context handed through the ChatKit SDK to the store and the agent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestContext:
    user_id: str
    """The token's ``sub``: every thread, item and attachment is scoped to it."""
