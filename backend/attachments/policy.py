"""What may be attached, as the settings say: each refusal a status, a code and a sentence."""

from __future__ import annotations

import re
from pathlib import PurePath

from backend.attachments import kinds
from backend.settings import Settings

MAX_NAME_CHARS = 255
DECLARED_SIZE = "declared_size"
"""Attachment metadata (never sent to clients): the size ``attachments.create`` announced."""
SENT_SIZE = "sent_size"
"""Attachment metadata: the bytes the model is sent of it (an image's downscaled copy)."""
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
"""Control characters and bidi overrides: a name must read as what it is."""


class AttachmentRefused(Exception):
    """An attachment request that cannot be honoured; the web layer answers it as JSON."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def size_text(size: int) -> str:
    """A size as people read it: "20 MB", "1.5 MB", "9.8 KB", "512 B" (a limit under 1 MB was
    "0 MB")."""
    for unit, scale in (("MB", 1_048_576), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(f".0 {unit}", f" {unit}")
    return f"{size} B"


def too_large(size: int | None, settings: Settings) -> AttachmentRefused:
    limit = settings.max_attachment_bytes
    actual = f" is {size_text(size)};" if size is not None else " is larger than allowed;"
    return AttachmentRefused(
        413,
        "file_too_large",
        f"The file{actual} the limit is {size_text(limit)} per file "
        "(CHATKIT_DESK_MAX_ATTACHMENT_BYTES).",
    )


def check_declared(name: str, size: int, mime_type: str, settings: Settings) -> tuple[str, str]:
    """The file's name (without any folder) and type, normalised; else ``AttachmentRefused``."""
    base_name = PurePath(name.replace("\\", "/")).name.strip()
    if not base_name or len(base_name) > MAX_NAME_CHARS or _UNPRINTABLE.search(base_name):
        raise AttachmentRefused(
            400,
            "invalid_file_name",
            f"A file name must be 1 to {MAX_NAME_CHARS} printable characters.",
        )
    mime = kinds.normalise(mime_type, base_name)
    if mime not in settings.attachment_types:
        accepted = ", ".join(kinds.describe(t).split(" ", 1)[1] for t in settings.attachment_types)
        raise AttachmentRefused(
            415,
            "unsupported_file_type",
            f"{base_name} is {kinds.describe(mime) if mime else 'of an unknown type'}, which "
            f"cannot be attached; this server accepts: {accepted}.",
        )
    if size <= 0:
        raise AttachmentRefused(
            400, "empty_file", f"{base_name} is empty; attach a file with content."
        )
    if size > settings.max_attachment_bytes:
        raise too_large(size, settings)
    return base_name, mime
