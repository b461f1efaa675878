"""Uploads never sent with a message are removed once they are older than the setting allows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from backend.attachments.service import DeskAttachments
from backend.settings import Settings

logger = structlog.get_logger("chatkit_desk.attachments")

LONGEST_PAUSE_SECONDS = 3600.0


async def collect_unsent_attachments(
    attachments: DeskAttachments, settings: Callable[[], Settings]
) -> None:
    """Collect at start, then again every hour (or sooner, for a shorter setting), until
    cancelled. A failed round is logged and retried at the next one."""
    while True:
        max_age = settings().unsent_attachment_hours * 3600
        try:
            await attachments.collect_unsent(max_age)
        except Exception:
            logger.exception("attachments_collect_failed")
        await asyncio.sleep(min(LONGEST_PAUSE_SECONDS, max_age / 2))
