"""The ``file`` field of a ``multipart/form-data`` upload, streamed: its bytes are handed on as
they arrive and counted, so an upload over its limit stops there and is never held in memory.

python-multipart's push parser does the format; this picks the one field out and enforces the
limit. Other fields are skipped without being kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

FIELD = "file"


class MultipartRefused(Exception):
    """The body is not an acceptable upload; ``too_large`` when the file went over its limit."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class FilePart:
    """Where the ``file`` field's bytes go, with the most that may arrive."""

    def __init__(self, limit: int, on_data: Callable[[bytes], object]) -> None:
        self.limit = limit
        self.received = 0
        self.found = False
        self._on_data = on_data

    def take(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.limit:
            raise MultipartRefused("the file is larger than allowed", too_large=True)
        self._on_data(chunk)


async def read_file_part(content_type: str, body: AsyncIterator[bytes], part: FilePart) -> None:
    """Feed ``body`` through the parser, passing the ``file`` field's bytes to ``part``."""
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise MultipartRefused(
            "Send the file as multipart/form-data with the field 'file' (curl: -F file=@photo.png)."
        )
    state = _PartState(part)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": state.begin,
            "on_header_field": state.header_field,
            "on_header_value": state.header_value,
            "on_header_end": state.header_end,
            "on_headers_finished": state.headers_finished,
            "on_part_data": state.data,
            "on_end": state.end,
        },
    )
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise MultipartRefused(f"The upload is not valid multipart/form-data ({exc}).") from None
    if not state.ended:
        raise MultipartRefused("The upload ended before its closing boundary; send it again.")
    if not part.found:
        raise MultipartRefused("The upload has no field named 'file' (curl: -F file=@photo.png).")


class _PartState:
    def __init__(self, part: FilePart) -> None:
        self._part = part
        self._field = b""
        self._value = b""
        self._name: bytes | None = None
        self._in_file = False
        self.ended = False

    def begin(self) -> None:
        self._name = None
        self._in_file = False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        if self._field.lower() == b"content-disposition":
            _, options = parse_options_header(self._value)
            self._name = options.get(b"name")
        self._field = self._value = b""

    def headers_finished(self) -> None:
        if self._name == FIELD.encode():
            if self._part.found:
                raise MultipartRefused("Send one file per upload (the field 'file' came twice).")
            self._part.found = True
            self._in_file = True

    def data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._part.take(data[start:end])

    def end(self) -> None:
        self.ended = True
