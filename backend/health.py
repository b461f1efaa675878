"""What ``GET /health`` answers: who this is and whether it can chat; never a secret."""

from __future__ import annotations

from backend import __version__, secrets
from backend.settings import Settings


def health_payload(settings: Settings) -> dict[str, object]:
    return {
        "status": "ok",
        "app": "chatkit-desk",
        "version": __version__,
        "provider": settings.provider,
        "model": settings.model,
        "key_configured": secrets.provider_key(settings.provider).found,
    }
