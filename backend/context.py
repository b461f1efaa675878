"""The per-request context handed through the ChatKit SDK to the store and the agent."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.settings import Settings


@dataclass(frozen=True, slots=True)
class RequestContext:
    user_id: str
    """The token's ``sub``: every thread, item and attachment is scoped to it."""
    settings: Settings = field(repr=False, compare=False)
    """The settings this request is answered with, taken once as it arrived."""
    base_url: str = field(default="", compare=False)
    """This server as the client reached it (``http://127.0.0.1:8765``): links it is given
    (attachment uploads and previews) point there."""
