"""Images checked by decoding them, and the copy the model is sent: no larger than it uses.

Both providers scale an image down before the model sees it (OpenAI to fit 2048 × 2048 at high
detail; Gemini tiles at 768 px), so sending a 12 MB, 4000 px photo every turn pays for bytes the
model never uses. The copy is made once, when the upload arrives, with Pillow: upright (EXIF
orientation applied), longest side at most ``MAX_SIDE``, JPEG (or WebP where it has
transparency). A small image is sent as it is.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

MAX_SIDE = 2048
KEEP_AS_IS_BYTES = 512 * 1024
"""An image already within ``MAX_SIDE`` and this small is sent unchanged."""
MAX_PIXELS = 50_000_000
"""Larger images are refused: a few hundred KB of PNG can hold a 100-megapixel image that takes
gigabytes to decode (a 48 MP phone photo is within it; JPEGs decode at a reduced scale)."""


class NotAnImage(Exception):
    """The bytes cannot be decoded as an image; the message says so."""


@dataclass(frozen=True)
class ModelImage:
    data: bytes
    mime_type: str
    width: int
    height: int


def model_copy(data: bytes, mime_type: str) -> ModelImage:
    """The image as the model should get it; ``NotAnImage`` if it cannot be decoded.

    Pillow (~5 MB, 30 ms to import) is loaded by the first image, not by every server start:
    the idle server's memory is a budget (docs/performance.md)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise NotAnImage(
                    f"The image is {opened.width} × {opened.height} pixels; the limit is "
                    f"{MAX_PIXELS // 1_000_000} megapixels."
                )
            if max(opened.size) <= MAX_SIDE and len(data) <= KEEP_AS_IS_BYTES:
                opened.load()  # decodes: a damaged file fails here
                return ModelImage(data, mime_type, opened.width, opened.height)
            # JPEG decodes straight at 1/2, 1/4 or 1/8 scale: a fraction of the memory and time.
            opened.draft("RGB", (MAX_SIDE, MAX_SIDE))
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise NotAnImage("The file is not an image that can be read (it may be damaged).") from None
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image.convert("RGBA").save(out, "WEBP", quality=85)
        return ModelImage(out.getvalue(), "image/webp", image.width, image.height)
    image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return ModelImage(out.getvalue(), "image/jpeg", image.width, image.height)
