"""The copy of an image the model is sent: small images as they are, large ones downscaled."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from backend.attachments.images import MAX_SIDE, NotAnImage, model_copy
from tests.support.attachments import photo_jpeg, png


def test_a_small_image_is_sent_as_it_is() -> None:
    data = png(30, 20)
    copy = model_copy(data, "image/png")
    assert (copy.data, copy.mime_type, copy.width, copy.height) == (data, "image/png", 30, 20)


def test_a_camera_photo_is_downscaled_to_what_the_model_uses() -> None:
    data = photo_jpeg(4000, 3000)
    copy = model_copy(data, "image/jpeg")
    assert (copy.mime_type, copy.width, copy.height) == ("image/jpeg", MAX_SIDE, 1536)
    assert len(copy.data) < len(data) / 5
    assert Image.open(io.BytesIO(copy.data)).size == (MAX_SIDE, 1536)


def test_a_large_image_with_transparency_keeps_it() -> None:
    image = Image.new("RGBA", (3000, 1000), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    copy = model_copy(out.getvalue(), "image/png")
    assert copy.mime_type == "image/webp" and (copy.width, copy.height) == (MAX_SIDE, 683)
    assert Image.open(io.BytesIO(copy.data)).mode == "RGBA"


def test_the_photo_is_turned_upright_by_its_exif_orientation() -> None:
    image = Image.new("RGB", (3000, 1000), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise when shown
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    copy = model_copy(out.getvalue(), "image/jpeg")
    assert (copy.width, copy.height) == (683, MAX_SIDE)


@pytest.mark.parametrize("data", [png()[:40], b"\x89PNG\r\n\x1a\n" + b"junk" * 10])
def test_bytes_that_cannot_be_decoded_are_not_an_image(data: bytes) -> None:
    with pytest.raises(NotAnImage):
        model_copy(data, "image/png")


def test_an_image_too_large_to_decode_safely_is_refused_before_decoding() -> None:
    # 8000 × 7000 of one colour: a few KB of PNG, 224 MB once decoded.
    out = io.BytesIO()
    Image.new("RGBA", (8000, 7000), (1, 2, 3, 255)).save(out, "PNG")
    assert len(out.getvalue()) < 1_000_000
    with pytest.raises(NotAnImage, match="megapixels"):
        model_copy(out.getvalue(), "image/png")
