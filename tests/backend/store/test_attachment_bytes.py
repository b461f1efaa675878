"""Attachments' bytes, on both storages (files beside the SQLite database; rows in Postgres,
which the replicas share): stored whole or not at all, read by key, gone with their attachment
or thread, and unsent ones collected."""

from __future__ import annotations

import time

import pytest
from chatkit.store import NotFoundError
from chatkit.types import FileAttachment

from backend.store.base import MODEL_COPY, DeskStore
from tests.backend.store.test_store_contract import ALICE, BOB, thread
from tests.support.storages import Backend


@pytest.fixture
def store(backend: Backend) -> DeskStore:
    return backend.storage.store


def attachment(attachment_id: str, thread_id: str | None = None) -> FileAttachment:
    return FileAttachment(
        id=attachment_id, name="notes.txt", mime_type="text/plain", thread_id=thread_id
    )


async def upload(store: DeskStore, key: str, *chunks: bytes) -> None:
    writing = store.begin_upload(key)
    for chunk in chunks:
        writing.write(chunk)
    await writing.commit()


async def test_an_upload_is_stored_whole_and_recorded(store: DeskStore) -> None:
    await store.save_attachment(attachment("atc_1"), ALICE)
    writing = store.begin_upload("atc_1")
    writing.write(b"hello, ")
    writing.write(b"\x00world")
    assert writing.size == 13
    assert await store.read_attachment_bytes("atc_1") is None, "nothing before it is complete"
    await writing.commit()
    assert await store.read_attachment_bytes("atc_1") == b"hello, \x00world"

    before = await store.attachment_record("atc_1")
    assert before is not None and before.size is None
    finished = attachment("atc_1").model_copy(update={"mime_type": "text/markdown"})
    await store.record_upload(finished, 13, ALICE)

    record = await store.attachment_record("atc_1")
    assert record is not None
    assert (record.user_id, record.thread_id, record.size) == ("alice", None, 13)
    assert record.attachment.mime_type == "text/markdown"
    assert abs(record.created_at - time.time()) < 3600
    assert await store.attachment_record("atc_missing") is None


async def test_an_aborted_upload_leaves_nothing(store: DeskStore) -> None:
    await store.save_attachment(attachment("atc_1"), ALICE)
    writing = store.begin_upload("atc_1")
    writing.write(b"half of it")
    writing.abort()
    assert await store.read_attachment_bytes("atc_1") is None


async def test_only_the_owner_records_an_upload(store: DeskStore) -> None:
    await store.save_attachment(attachment("atc_1"), ALICE)
    with pytest.raises(NotFoundError):
        await store.record_upload(attachment("atc_1"), 3, BOB)
    with pytest.raises(NotFoundError):
        await store.record_upload(attachment("atc_missing"), 3, ALICE)


async def test_bytes_go_with_their_attachment_or_thread(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    for attachment_id, thread_id in (("atc_1", None), ("atc_2", "t1")):
        await store.save_attachment(attachment(attachment_id, thread_id), ALICE)
        await upload(store, attachment_id, b"original")
        await upload(store, attachment_id + MODEL_COPY, b"copy")

    await store.delete_attachment("atc_1", ALICE)
    await store.delete_thread("t1", ALICE)

    for key in ("atc_1", "atc_1" + MODEL_COPY, "atc_2", "atc_2" + MODEL_COPY):
        assert await store.read_attachment_bytes(key) is None, key


async def test_refused_bytes_are_discarded(store: DeskStore) -> None:
    await store.save_attachment(attachment("atc_1"), ALICE)
    await upload(store, "atc_1", b"original")
    await upload(store, "atc_1" + MODEL_COPY, b"copy")

    await store.discard_bytes(["atc_1", "atc_1" + MODEL_COPY])

    assert await store.read_attachment_bytes("atc_1") is None
    assert await store.read_attachment_bytes("atc_1" + MODEL_COPY) is None
    assert await store.attachment_record("atc_1") is not None, "the attachment itself stays"


async def test_unsent_attachments_are_found_and_forgotten(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    await store.save_attachment(attachment("atc_unsent"), ALICE)
    await store.save_attachment(attachment("atc_bobs"), BOB)
    await store.save_attachment(attachment("atc_sent", "t1"), ALICE)
    await upload(store, "atc_unsent", b"bytes")
    later = int(time.time()) + 10

    assert await store.unsent_attachments(int(time.time()) - 3600) == []
    assert sorted(await store.unsent_attachments(later)) == ["atc_bobs", "atc_unsent"]

    await store.forget_attachments(["atc_unsent", "atc_bobs"])

    assert await store.unsent_attachments(later) == []
    assert await store.read_attachment_bytes("atc_unsent") is None
    assert await store.attachment_record("atc_sent") is not None
