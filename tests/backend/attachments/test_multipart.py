"""The upload's ``file`` field, streamed out of a multipart body and counted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from backend.attachments.multipart import FilePart, MultipartRefused, read_file_part

TYPE = "multipart/form-data; boundary=XyZ"


def multipart(*fields: tuple[str, bytes]) -> bytes:
    body = b""
    for name, value in fields:
        body += (
            b'--XyZ\r\nContent-Disposition: form-data; name="' + name.encode() + b'"; '
            b'filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n' + value + b"\r\n"
        )
    return body + b"--XyZ--\r\n"


async def pieces(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read(data: bytes, limit: int = 1000, content_type: str = TYPE) -> bytes:
    received: list[bytes] = []
    await read_file_part(content_type, pieces(data), FilePart(limit, received.append))
    return b"".join(received)


async def test_the_file_field_is_taken_and_other_fields_skipped() -> None:
    body = multipart(("note", b"ignored"), ("file", b"the bytes\r\n--not a boundary"))
    assert await read(body) == b"the bytes\r\n--not a boundary"


async def test_a_file_over_the_limit_stops_there() -> None:
    with pytest.raises(MultipartRefused) as refused:
        await read(multipart(("file", b"x" * 101)), limit=100)
    assert refused.value.too_large


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        (multipart(("other", b"x")), TYPE, "no field named 'file'"),
        (multipart(("file", b"a"), ("file", b"b")), TYPE, "one file per upload"),
        (multipart(("file", b"abc"))[:-12], TYPE, "ended before its closing boundary"),
        (b"abc", "application/octet-stream", "multipart/form-data with the field 'file'"),
        (b"abc", "multipart/form-data", "multipart/form-data with the field 'file'"),
        (b"garbage without any boundary", TYPE, "not valid multipart"),
    ],
)
async def test_what_is_not_one_file_upload_is_refused_saying_why(
    body: bytes, content_type: str, said: str
) -> None:
    with pytest.raises(MultipartRefused, match=said) as refused:
        await read(body, content_type=content_type)
    assert not refused.value.too_large
