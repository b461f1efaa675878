"""Attachment bytes on disk: whole files only under their final name, leftovers swept."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.attachments.files import AttachmentFiles


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


async def test_a_file_appears_only_once_committed(tmp_path: Path) -> None:
    files = AttachmentFiles(tmp_path / "attachments")
    upload = files.begin("atc_1")
    upload.write(b"abc")
    assert files.path("atc_1") is None
    await upload.commit()
    assert await files.read("atc_1") == b"abc"
    assert (tmp_path / "attachments" / "atc_1").stat().st_mode & 0o777 == 0o600


def test_an_aborted_upload_leaves_nothing(tmp_path: Path) -> None:
    files = AttachmentFiles(tmp_path)
    upload = files.begin("atc_1")
    upload.write(b"abc")
    upload.abort()
    assert names_in(tmp_path) == []


async def test_sweep_removes_half_uploads_and_files_of_attachments_that_are_gone(
    tmp_path: Path,
) -> None:
    files = AttachmentFiles(tmp_path)
    for key in ("atc_kept", "atc_kept.model", "atc_gone", "atc_gone.model"):
        upload = files.begin(key)
        upload.write(b"x")
        await upload.commit()
    files.begin("atc_kept2").write(b"half")  # a kill -9 mid-upload leaves this

    assert files.sweep({"atc_kept", "atc_kept2"}) == 3
    assert names_in(tmp_path) == ["atc_kept", "atc_kept.model"]


@pytest.mark.parametrize("key", ["../etc/passwd", ".hidden", "a/b", ""])
def test_keys_never_leave_the_folder(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        AttachmentFiles(tmp_path).begin(key)
