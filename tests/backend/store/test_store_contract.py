"""The store's contract, on both storages (SQLite for the desktop, Postgres for team mode): every
``chatkit.store.Store`` method, exact order, cursor paging, upserts that keep their place, the
incomplete mark, attachments, and per-user scoping."""

from __future__ import annotations

from datetime import datetime

import pytest
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    FileAttachment,
    InferenceOptions,
    Page,
    Thread,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

from backend.store.base import DeskStore
from tests.support.contexts import context_for
from tests.support.storages import Backend

ALICE = context_for("alice")
BOB = context_for("bob")
NOW = datetime(2026, 1, 1, 12, 0, 0)  # identical timestamps: order must not depend on them


@pytest.fixture
def store(backend: Backend) -> DeskStore:
    return backend.storage.store


def thread(thread_id: str, title: str | None = None) -> ThreadMetadata:
    return ThreadMetadata(id=thread_id, created_at=NOW, title=title)


def user_message(item_id: str, thread_id: str, text: str = "hi") -> UserMessageItem:
    return UserMessageItem(
        id=item_id,
        thread_id=thread_id,
        created_at=NOW,
        content=[UserMessageTextContent(text=text)],
        inference_options=InferenceOptions(),
    )


def reply(item_id: str, thread_id: str, text: str = "hello") -> AssistantMessageItem:
    return AssistantMessageItem(
        id=item_id,
        thread_id=thread_id,
        created_at=NOW,
        content=[AssistantMessageContent(text=text)],
    )


async def test_thread_round_trip_and_update(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    assert (await store.load_thread("t1", ALICE)).title is None

    await store.save_thread(thread("t1", title="Renamed"), ALICE)

    loaded = await store.load_thread("t1", ALICE)
    assert loaded.title == "Renamed"
    assert loaded.created_at == NOW


async def test_save_thread_keeps_only_metadata(store: DeskStore) -> None:
    full = Thread(id="t1", created_at=NOW, items=Page(data=[user_message("m1", "t1")]))
    await store.save_thread(full, ALICE)

    loaded = await store.load_thread("t1", ALICE)
    assert type(loaded) is ThreadMetadata
    assert (await store.load_thread_items("t1", None, 10, "asc", ALICE)).data == []


async def test_missing_thread_raises_not_found(store: DeskStore) -> None:
    with pytest.raises(NotFoundError):
        await store.load_thread("nope", ALICE)
    with pytest.raises(NotFoundError):
        await store.delete_thread("nope", ALICE)
    with pytest.raises(NotFoundError):
        await store.load_thread_items("nope", None, 10, "asc", ALICE)
    with pytest.raises(NotFoundError):
        await store.add_thread_item("nope", user_message("m1", "nope"), ALICE)


async def test_threads_page_in_exact_order_both_ways(store: DeskStore) -> None:
    for index in range(5):
        await store.save_thread(thread(f"t{index}"), ALICE)

    first = await store.load_threads(2, None, "desc", ALICE)
    assert [t.id for t in first.data] == ["t4", "t3"]
    assert first.has_more and first.after == "t3"
    second = await store.load_threads(2, first.after, "desc", ALICE)
    assert [t.id for t in second.data] == ["t2", "t1"]
    last = await store.load_threads(2, second.after, "desc", ALICE)
    assert [t.id for t in last.data] == ["t0"]
    assert not last.has_more and last.after is None

    ascending = await store.load_threads(10, None, "asc", ALICE)
    assert [t.id for t in ascending.data] == ["t0", "t1", "t2", "t3", "t4"]
    assert not ascending.has_more


async def test_page_exactly_full_has_no_more(store: DeskStore) -> None:
    for index in range(3):
        await store.save_thread(thread(f"t{index}"), ALICE)
    page = await store.load_threads(3, None, "asc", ALICE)
    assert len(page.data) == 3 and not page.has_more


async def test_items_in_insertion_order_with_cursor_paging(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    for index in range(5):
        await store.add_thread_item("t1", user_message(f"m{index}", "t1"), ALICE)

    latest = await store.load_thread_items("t1", None, 2, "desc", ALICE)
    assert [i.id for i in latest.data] == ["m4", "m3"]
    older = await store.load_thread_items("t1", latest.after, 2, "desc", ALICE)
    assert [i.id for i in older.data] == ["m2", "m1"]

    after_m1 = await store.load_thread_items("t1", "m1", 10, "asc", ALICE)
    assert [i.id for i in after_m1.data] == ["m2", "m3", "m4"]
    assert not after_m1.has_more


async def test_unknown_cursor_and_bad_arguments(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    with pytest.raises(NotFoundError):
        await store.load_thread_items("t1", "missing", 10, "asc", ALICE)
    with pytest.raises(NotFoundError):
        await store.load_threads(10, "missing", "asc", ALICE)
    with pytest.raises(ValueError):
        await store.load_threads(0, None, "asc", ALICE)
    with pytest.raises(ValueError):
        await store.load_threads(10, None, "sideways", ALICE)


async def test_items_round_trip_with_their_types(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    await store.add_thread_item("t1", user_message("m1", "t1", "question"), ALICE)
    await store.add_thread_item("t1", reply("m2", "t1", "answer"), ALICE)

    question = await store.load_item("t1", "m1", ALICE)
    answer = await store.load_item("t1", "m2", ALICE)
    assert isinstance(question, UserMessageItem) and question.content[0].text == "question"
    assert isinstance(answer, AssistantMessageItem) and answer.content[0].text == "answer"


async def test_save_item_replaces_in_place(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    for item_id in ("m1", "m2", "m3"):
        await store.add_thread_item("t1", reply(item_id, "t1"), ALICE)

    await store.save_item("t1", reply("m2", "t1", "edited"), ALICE)
    await store.save_item("t1", reply("m4", "t1", "new"), ALICE)

    items = (await store.load_thread_items("t1", None, 10, "asc", ALICE)).data
    assert [i.id for i in items] == ["m1", "m2", "m3", "m4"], "an update keeps its place"
    assert items[1].content[0].text == "edited"


async def test_delete_item(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    await store.add_thread_item("t1", reply("m1", "t1"), ALICE)
    await store.delete_thread_item("t1", "m1", ALICE)
    with pytest.raises(NotFoundError):
        await store.load_item("t1", "m1", ALICE)
    with pytest.raises(NotFoundError):
        await store.delete_thread_item("t1", "m1", ALICE)


async def test_delete_thread_removes_its_items_and_attachments(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    await store.add_thread_item("t1", reply("m1", "t1"), ALICE)
    attachment = FileAttachment(id="a1", name="f.txt", mime_type="text/plain", thread_id="t1")
    await store.save_attachment(attachment, ALICE)

    await store.delete_thread("t1", ALICE)

    with pytest.raises(NotFoundError):
        await store.load_thread("t1", ALICE)
    with pytest.raises(NotFoundError):
        await store.load_attachment("a1", ALICE)
    await store.save_thread(thread("t1"), ALICE)  # the same id again: nothing of the old one
    assert (await store.load_thread_items("t1", None, 10, "asc", ALICE)).data == []
    with pytest.raises(NotFoundError):
        await store.load_item("t1", "m1", ALICE)


async def test_attachment_metadata(store: DeskStore) -> None:
    attachment = FileAttachment(id="a1", name="notes.txt", mime_type="text/plain")
    await store.save_attachment(attachment, ALICE)
    assert await store.load_attachment("a1", ALICE) == attachment

    await store.save_thread(thread("t1"), ALICE)
    await store.save_attachment(attachment.model_copy(update={"thread_id": "t1"}), ALICE)
    assert (await store.load_attachment("a1", ALICE)).thread_id == "t1"

    await store.delete_attachment("a1", ALICE)
    with pytest.raises(NotFoundError):
        await store.load_attachment("a1", ALICE)
    with pytest.raises(NotFoundError):
        await store.delete_attachment("a1", ALICE)


async def test_users_never_see_each_others_rows(store: DeskStore) -> None:
    await store.save_thread(thread("t1", title="Alice's"), ALICE)
    await store.add_thread_item("t1", user_message("m1", "t1"), ALICE)
    await store.save_attachment(FileAttachment(id="a1", name="x", mime_type="text/plain"), ALICE)

    assert (await store.load_threads(10, None, "desc", BOB)).data == []
    for operation in (
        store.load_thread("t1", BOB),
        store.load_thread_items("t1", None, 10, "asc", BOB),
        store.load_item("t1", "m1", BOB),
        store.add_thread_item("t1", user_message("m2", "t1"), BOB),
        store.save_item("t1", user_message("m1", "t1", "overwritten"), BOB),
        store.delete_thread_item("t1", "m1", BOB),
        store.delete_thread("t1", BOB),
        store.save_thread(thread("t1", title="Bob's now"), BOB),
        store.load_attachment("a1", BOB),
        store.delete_attachment("a1", BOB),
        store.save_attachment(FileAttachment(id="a1", name="y", mime_type="text/plain"), BOB),
    ):
        with pytest.raises(NotFoundError):
            await operation

    assert (await store.load_thread("t1", ALICE)).title == "Alice's"
    assert (await store.load_item("t1", "m1", ALICE)).content[0].text == "hi"
    assert (await store.load_attachment("a1", ALICE)).name == "x"


async def test_generated_ids_are_unique_and_typed(store: DeskStore) -> None:
    ids = {store.generate_item_id("message", thread("t"), ALICE) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("msg_") for i in ids)
    assert store.generate_thread_id(ALICE).startswith("thr_")


async def test_the_incomplete_mark_stays_on_its_item_only(
    store: DeskStore, backend: Backend
) -> None:
    await store.save_thread(thread("t1"), ALICE)
    await store.add_thread_item("t1", reply("m1", "t1", "cut sh"), ALICE)
    await store.add_thread_item("t1", reply("m2", "t1"), ALICE)

    await store.mark_incomplete("t1", "m1", ALICE)
    await store.mark_incomplete("t1", "m2", BOB)  # not Bob's: nothing happens
    await store.mark_incomplete("t1", "missing", ALICE)  # nor to an item that is gone

    assert await backend.is_incomplete("t1", "m1")
    assert not await backend.is_incomplete("t1", "m2")
    await store.save_item("t1", reply("m1", "t1", "cut short"), ALICE)
    assert await backend.is_incomplete("t1", "m1"), "saving the item again keeps the mark"


async def test_any_text_round_trips(store: DeskStore) -> None:
    text = "NUL \x00, emoji 🙂, quotes \" ', backslash \\, RTL \u202e, astral \U0001d11e"
    await store.save_thread(thread("t1", title=text), ALICE)
    await store.add_thread_item("t1", user_message("m1", "t1", text), ALICE)

    assert (await store.load_thread("t1", ALICE)).title == text
    assert (await store.load_item("t1", "m1", ALICE)).content[0].text == text


async def test_deleted_items_leave_no_hole_in_paging(store: DeskStore) -> None:
    await store.save_thread(thread("t1"), ALICE)
    for index in range(6):
        await store.add_thread_item("t1", user_message(f"m{index}", "t1"), ALICE)
    await store.delete_thread_item("t1", "m2", ALICE)
    await store.delete_thread_item("t1", "m3", ALICE)

    first = await store.load_thread_items("t1", None, 2, "asc", ALICE)
    second = await store.load_thread_items("t1", first.after, 2, "asc", ALICE)
    assert [i.id for i in first.data + second.data] == ["m0", "m1", "m4", "m5"]
    assert not second.has_more
