"""How a refused attachment's size is worded: readable at any limit, small ones included."""

from __future__ import annotations

import pytest

from backend.attachments import policy
from backend.settings import Settings


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (20 * 1024 * 1024, "20 MB"),
        (1_572_864, "1.5 MB"),
        (10_000, "9.8 KB"),
        (4096, "4 KB"),
        (512, "512 B"),
    ],
)
def test_sizes_are_worded_in_the_unit_that_fits(size: int, text: str) -> None:
    assert policy.size_text(size) == text


def test_a_small_limit_is_not_called_0_mb(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, max_attachment_bytes=4096)
    with pytest.raises(policy.AttachmentRefused) as refused:
        policy.check_declared("big.pdf", 10_000, "application/pdf", settings)
    assert refused.value.status == 413
    assert refused.value.message == (
        "The file is 9.8 KB; the limit is 4 KB per file (CHATKIT_DESK_MAX_ATTACHMENT_BYTES)."
    )


@pytest.mark.parametrize(
    "name",
    ["a\x00.png", "report\r\nX-Injected: 1.pdf", "invoice\u202egnp.exe.png", "", "x" * 256],
)
def test_a_name_that_does_not_read_as_what_it_is_is_refused(tmp_path, name: str) -> None:
    with pytest.raises(policy.AttachmentRefused) as refused:
        policy.check_declared(name, 10, "image/png", Settings(data_dir=tmp_path))
    assert (refused.value.status, refused.value.code) == (400, "invalid_file_name")


def test_a_folder_in_the_name_is_dropped(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert policy.check_declared("C:\\Users\\me\\Résumé.pdf", 10, "application/pdf", settings) == (
        "Résumé.pdf",
        "application/pdf",
    )
