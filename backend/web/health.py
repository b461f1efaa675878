"""What ``GET /health`` answers: who this is, whether it is ready and can chat; never a secret."""

from __future__ import annotations

from collections.abc import Sequence

from backend import __version__, secrets
from backend.settings import Settings
from backend.supervision import health_answer


def health_payload(
    settings: Settings, keys: secrets.KeyCache, ready: bool, tools_in_use: Sequence[str]
) -> dict[str, object]:
    """``ready`` is false while the chat stack is still loading (``DeferredApp``).

    ``tools_in_use`` (``server › tool``, while a turn calls them) is for the tray's tooltip,
    which polls this route anyway: a tool's name, never its arguments.
    """
    return health_answer(
        ready,
        version=__version__,
        provider=settings.provider,
        model=settings.model,
        key_configured=keys.lookup(settings.provider).found,
        tools_in_use=list(tools_in_use),
    )
