"""Attachment bytes as files in the data dir, one per key, written so a crash leaves no half file.

An upload is written to ``KEY.part`` and renamed into place once complete and flushed, so a
file under its final name is always whole; a kill -9 mid-upload leaves only a ``.part`` file,
which ``sweep`` removes at the next start together with any file whose attachment is gone
(a thread deleted just before a crash). Keys are the store's random attachment ids (plus a
suffix for derived copies), never names a user chose.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import BinaryIO

_KEY = re.compile(r"[A-Za-z0-9_.-]{1,128}")
PART = ".part"


class AttachmentFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key) or key.startswith("."):
            raise ValueError(f"not an attachment key: {key!r}")
        return self.directory / key

    def begin(self, key: str) -> FileUpload:
        """A new file for ``key``, invisible under that name until ``FileUpload.commit``."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return FileUpload(self._path(key))

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    def path(self, key: str) -> Path | None:
        """Where the bytes of ``key`` are, if they are there."""
        path = self._path(key)
        return path if path.is_file() else None

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def sweep(self, known_ids: Collection[str]) -> int:
        """Remove ``.part`` files and files of attachments that no longer exist; how many."""
        if not self.directory.is_dir():
            return 0
        removed = 0
        for path in self.directory.iterdir():
            owner = path.name.split(".", 1)[0]
            if path.name.endswith(PART) or owner not in known_ids:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class FileUpload:
    """One file being written; ``commit`` publishes it, ``abort`` (or a crash) leaves nothing."""

    def __init__(self, final: Path) -> None:
        self._final = final
        self._part = final.with_name(final.name + PART)
        self._file: BinaryIO = open(self._part, "wb")
        os.chmod(self._part, 0o600)
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self.size += len(chunk)

    async def commit(self) -> None:
        await asyncio.to_thread(self._flush_and_publish)

    def _flush_and_publish(self) -> None:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._part, self._final)
        except OSError:
            self.abort()  # a full disk: no half file left behind
            raise

    def abort(self) -> None:
        self._file.close()
        self._part.unlink(missing_ok=True)
