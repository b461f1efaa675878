"""What ``GET /health`` answers: who this is and whether it can chat; never a secret."""

from __future__ import annotations

from backend import __version__, secrets
from backend.settings import Settings


def health_payload(settings: Settings, keys: secrets.KeyCache) -> dict[str, object]:
    return {
        "status": "ok",
        "app": "chatkit-desk",
        "version": __version__,
        "provider": settings.provider,
        "model": settings.model,
        "key_configured": keys.lookup(settings.provider).found,
    }
