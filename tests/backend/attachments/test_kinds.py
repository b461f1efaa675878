"""File types: declared types normalised with the name, and bytes that must match them."""

from __future__ import annotations

import pytest

from backend.attachments.kinds import ContentCheck, ContentMismatch, decode_text, normalise
from tests.support.attachments import pdf, png


@pytest.mark.parametrize(
    ("declared", "name", "expected"),
    [
        ("image/png", "a.png", "image/png"),
        ("IMAGE/JPG", "a.jpg", "image/jpeg"),
        ("", "notes.md", "text/markdown"),
        ("application/octet-stream", "data.json", "application/json"),
        ("application/vnd.ms-excel", "sheet.csv", "text/csv"),  # Windows browsers
        ("text/x-markdown", "a.md", "text/markdown"),
        ("text/plain; charset=utf-8", "a.txt", "text/plain"),
        ("application/zip", "a.zip", "application/zip"),  # left as it is: refused later
        ("", "no-extension", ""),
    ],
)
def test_declared_types_are_normalised_with_the_name(
    declared: str, name: str, expected: str
) -> None:
    assert normalise(declared, name) == expected


def test_bytes_fed_in_small_pieces_are_checked_like_one_piece() -> None:
    check = ContentCheck("image/png")
    for byte in png():
        check.feed(bytes([byte]))
    assert check.finish() == "image/png"


def test_an_image_of_another_image_type_is_recorded_as_what_it_is() -> None:
    check = ContentCheck("image/jpeg")
    check.feed(png())
    assert check.finish() == "image/png"


@pytest.mark.parametrize(
    ("declared", "data", "said"),
    [
        ("text/plain", png(), "content is a PNG image"),
        ("text/markdown", pdf(), "content is a PDF"),
        ("image/png", pdf(), "content is a PDF"),
        ("application/pdf", png(), "content is a PNG image"),
        ("image/webp", b"short", "content is not one"),
        ("text/plain", b"\xff\xfeh\x00i\x00", "UTF-16 text"),
        ("text/csv", b"a,b\n\x00\x01", "binary data"),
    ],
)
def test_bytes_that_are_not_what_was_declared_are_refused(
    declared: str, data: bytes, said: str
) -> None:
    check = ContentCheck(declared)
    with pytest.raises(ContentMismatch, match=said):
        check.feed(data)
        check.finish()


def test_text_that_is_not_utf8_is_taken_as_windows_1252() -> None:
    excel_csv = "name;price\nCafé;3,50 €\n".encode("cp1252")
    check = ContentCheck("text/csv")
    check.feed(excel_csv)
    assert check.finish() == "text/csv"
    assert decode_text(excel_csv) == "name;price\nCafé;3,50 €\n"
    assert decode_text("naïve ✓".encode()) == "naïve ✓"


def test_a_character_split_between_two_pieces_is_fine() -> None:
    check = ContentCheck("text/markdown")
    encoded = "naïve café ✓".encode()
    check.feed(encoded[:3])
    check.feed(encoded[3:])
    assert check.finish() == "text/markdown"
