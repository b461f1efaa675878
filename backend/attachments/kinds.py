"""The file types ChatKit Desk reads, told apart by their bytes, not by what the client says.

Browsers label files unevenly (an empty type for ``.md``, ``application/vnd.ms-excel`` for a CSV
on Windows, ``image/jpg``), so the declared type is first normalised with the file name; the
upload's first bytes then have to match it. An image that turns out to be another image type is
recorded as what it is; anything else that does not match is refused.
"""

from __future__ import annotations

import codecs
from pathlib import PurePath

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
PDF = "application/pdf"
TEXT_TYPES = ("text/plain", "text/markdown", "text/csv", "application/json")
ACCEPTED_TYPES = (*IMAGE_TYPES, PDF, *TEXT_TYPES)

_ALIASES = {
    "image/jpg": "image/jpeg",
    "text/x-markdown": "text/markdown",
    "text/json": "application/json",
}
_BY_EXTENSION = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".pdf": PDF,
    ".txt": "text/plain",
    ".text": "text/plain",
    ".log": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
}
_VAGUE = ("", "application/octet-stream", "application/vnd.ms-excel", "text/x-csv")
SNIFF_BYTES = 16
"""How many leading bytes ``sniff_image_or_pdf`` needs."""


def normalise(mime_type: str, name: str) -> str:
    """The type a client declared, made canonical; vague or missing types taken from the name."""
    declared = mime_type.split(";")[0].strip().lower()
    declared = _ALIASES.get(declared, declared) or ""
    if declared in _VAGUE or declared not in ACCEPTED_TYPES:
        by_name = _BY_EXTENSION.get(PurePath(name).suffix.lower())
        if by_name is not None and (declared in _VAGUE or declared.startswith("text/")):
            return by_name
    return declared


def is_image(mime_type: str) -> bool:
    return mime_type in IMAGE_TYPES


def is_text(mime_type: str) -> bool:
    return mime_type in TEXT_TYPES


def sniff_image_or_pdf(head: bytes) -> str | None:
    """The image or PDF type these leading bytes begin, if any."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def describe(mime_type: str) -> str:
    """A type as a person reads it: "a PNG image", "a PDF", "a CSV file"."""
    names = {
        "image/png": "a PNG image",
        "image/jpeg": "a JPEG image",
        "image/webp": "a WebP image",
        "image/gif": "a GIF image",
        PDF: "a PDF",
        "text/plain": "a text file",
        "text/markdown": "a Markdown file",
        "text/csv": "a CSV file",
        "application/json": "a JSON file",
    }
    return names.get(mime_type, mime_type or "an unnamed type")


def decode_text(data: bytes) -> str:
    """A text file's characters: UTF-8, else Windows-1252 (what Excel's "CSV" and Notepad on
    older Windows write)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


class ContentMismatch(Exception):
    """The bytes are not what the declared type says; the message says what they are."""


class ContentCheck:
    """Checks an upload's bytes against its declared type as they stream in.

    Images and PDFs are told by their first bytes; text must be free of NUL bytes (binary data,
    or UTF-16, which is refused) and is read as UTF-8, checked incrementally so a multi-byte
    character split between two chunks is fine; text that is not UTF-8 is taken as
    Windows-1252 (``decode_text``).
    """

    def __init__(self, declared: str) -> None:
        self.declared = declared
        self.actual = declared
        self._head = b""
        self._text = is_text(declared)
        self._decoder = codecs.getincrementaldecoder("utf-8")() if self._text else None

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < SNIFF_BYTES:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._check_head()
        if self._text:
            self._check_text(chunk, final=False)

    def finish(self) -> str:
        """The type the bytes really are (an image may be another image type than declared)."""
        if len(self._head) < SNIFF_BYTES:
            self._check_head()
        if self._text:
            self._check_text(b"", final=True)
        return self.actual

    def _check_head(self) -> None:
        found = sniff_image_or_pdf(self._head)
        if self._text and found is None:
            return
        if is_image(self.declared) and found is not None and is_image(found):
            self.actual = found
            return
        if found != self.declared:
            what = describe(found) if found else "not one"
            raise ContentMismatch(
                f"The file was declared as {describe(self.declared)}, but its content is {what}."
            )

    def _check_text(self, chunk: bytes, *, final: bool) -> None:
        if b"\x00" in chunk:
            raise ContentMismatch(
                f"The file was declared as {describe(self.declared)}, but it holds binary data "
                "(or UTF-16 text: save it as UTF-8)."
            )
        if self._decoder is None:
            return  # not UTF-8: Windows-1252, which any byte but NUL is
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            self._decoder = None
