"""Attachments end to end, on both providers: a real server over real HTTP, the fake provider
telling what it was sent (``[received]`` in a message, see ``tests/support/fake_turns.py``).

A ChatKit frontend's two-phase upload: ``attachments.create`` on ``/chatkit``, the bytes to the
descriptor's URL with only the descriptor's headers, then a message naming the ids.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import attachments as files
from tests.support.attachments import attach, create, upload, user_input_with
from tests.support.desk_process import DeskProcess, base_env, make_token
from tests.support.fake_upstream import FakeUpstream
from tests.support.sse_client import DeskClient, Reply
from tests.support.waiting import wait_until

HISTORY_BUDGET = 10_000
"""Bytes earlier messages may resend: one ~6 KB image fits, two do not."""
MAX_BYTES = 4_000_000
MAX_FILES = 3
MESSAGE_TOTAL = 5_000_000


def start_desk(folder: Path, upstream: FakeUpstream, provider: str, **env: str) -> DeskProcess:
    data_dir = folder / f"data-{provider}"
    environment = base_env(data_dir, upstream.base_url, folder / "keyring.json")
    environment.update(
        CHATKIT_DESK_PROVIDER=provider,
        CHATKIT_DESK_ATTACHMENT_HISTORY_BYTES=str(HISTORY_BUDGET),
        CHATKIT_DESK_MAX_ATTACHMENT_BYTES=str(MAX_BYTES),
        CHATKIT_DESK_MAX_ATTACHMENTS_PER_MESSAGE=str(MAX_FILES),
        CHATKIT_DESK_MAX_MESSAGE_ATTACHMENT_BYTES=str(MESSAGE_TOTAL),
        **env,
    )
    return DeskProcess(environment, folder / f"{provider}.log").start()


@pytest.fixture(scope="module", params=["openai", "gemini"])
def desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream
) -> Iterator[DeskProcess]:
    server = start_desk(tmp_path_factory.mktemp("attach"), upstream, request.param)
    yield server
    server.stop()


@pytest.fixture
def alice(desk: DeskProcess) -> Iterator[DeskClient]:
    client = DeskClient(desk.url, make_token("alice"))
    yield client
    client.close()


@pytest.fixture
def bob(desk: DeskProcess) -> Iterator[DeskClient]:
    client = DeskClient(desk.url, make_token("bob"))
    yield client
    client.close()


def provider_of(desk: DeskProcess) -> str:
    return desk.env["CHATKIT_DESK_PROVIDER"]


def attachments_dir(desk: DeskProcess) -> Path:
    return Path(desk.env["CHATKIT_DESK_DATA_DIR"]) / "attachments"


def stored_files(desk: DeskProcess, attachment_id: str) -> list[str]:
    folder = attachments_dir(desk)
    return sorted(p.name for p in folder.glob(f"{attachment_id}*")) if folder.is_dir() else []


def send(client: DeskClient, text: str, *ids: str, thread_id: str | None = None) -> Reply:
    if thread_id is None:
        return client.chatkit(
            {"type": "threads.create", "params": {"input": user_input_with(text, *ids)}}
        )
    return client.chatkit(
        {
            "type": "threads.add_user_message",
            "params": {"thread_id": thread_id, "input": user_input_with(text, *ids)},
        }
    )


def error_of(answer: httpx.Response | Reply | tuple[int, dict[str, Any]]) -> tuple[int, str]:
    """(status, error code) of a refusal, however it came."""
    if isinstance(answer, tuple):
        status, body = answer
    elif isinstance(answer, Reply):
        status, body = answer.status, answer.body
    else:
        status, body = answer.status_code, answer.json()
    return status, body["error"]["code"]


# What the model is sent, per provider


def test_an_image_a_pdf_and_a_text_file_reach_the_model_in_each_providers_format(
    desk: DeskProcess, alice: DeskClient
) -> None:
    image = files.png()
    document = files.pdf(2000)
    red = attach(alice, "red.png", "image/png", image)
    report = attach(alice, "report.pdf", "application/pdf", document)
    # A browser gives .md files no type: the name tells.
    notes = attach(alice, "notes.md", "", b"# Notes\nbuy milk")

    reply = send(alice, "What is in these? [received]", red["id"], report["id"], notes["id"])

    assert reply.status == 200 and not reply.errors
    pdf_part = (
        f"file report.pdf application/pdf {len(document)} B"
        if provider_of(desk) == "openai"
        else f"application/pdf {len(document)} B"  # Gemini: a data URL in image_url
    )
    assert reply.assistant_text == (
        f"Received: image/png {len(image)} B + {pdf_part} + text notes.md."
    )
    assert notes["mime_type"] == "text/markdown"
    assert "preview_url" in red and "upload_descriptor" not in red


def test_a_large_photo_is_sent_downscaled(desk: DeskProcess, alice: DeskClient) -> None:
    photo = files.photo_jpeg(3000, 1000)
    desk_limit = int(desk.env["CHATKIT_DESK_MAX_ATTACHMENT_BYTES"])
    assert len(photo) < desk_limit, "the test photo must fit the limit"

    sent = attach(alice, "photo.jpg", "image/jpeg", photo)
    reply = send(alice, "[received]", sent["id"])

    kind, size, _ = reply.assistant_text.removeprefix("Received: ").split(" ", 2)
    assert kind == "image/jpeg" and int(size) < len(photo)


def test_only_the_newest_messages_carry_their_bytes_older_ones_are_named(
    alice: DeskClient,
) -> None:
    first = attach(alice, "first.png", "image/png", files.noisy_png(48, 48, seed=1))
    second = attach(alice, "second.png", "image/png", files.noisy_png(48, 48, seed=2))
    started = send(alice, "one", first["id"])

    reply = send(alice, "two [received]", second["id"], thread_id=started.thread_id)
    assert reply.assistant_text.startswith("Received: named first.png | image/png ")

    text_only = send(alice, "three [received]", thread_id=started.thread_id)
    assert text_only.assistant_text.startswith("Received: named first.png | image/png ")


def test_the_simple_protocol_takes_attachment_ids(alice: DeskClient) -> None:
    notes = attach(alice, "list.csv", "text/csv", b"item,count\nmilk,2\n")
    reply = alice.simple(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "[received]"}],
                "attachments": [notes["id"]],
            },
        }
    )
    created = reply.of_type("conversation.item.created")
    assert created[0]["item"]["content"][0]["text"] == "Received: text list.csv."


# Reload, previews, and other users


def test_a_reloaded_thread_shows_the_attachment_with_a_preview_that_loads(
    alice: DeskClient,
) -> None:
    image = files.png(3, 2)
    sent = attach(alice, "tiny.png", "image/png", image)
    thread_id = send(alice, "look", sent["id"]).thread_id

    thread = alice.get_thread(thread_id).body
    message = next(i for i in thread["items"]["data"] if i["type"] == "user_message")
    (shown,) = message["attachments"]
    assert (shown["id"], shown["name"], shown["type"]) == (sent["id"], "tiny.png", "image")
    assert "metadata" not in shown

    # An <img> sends no token: the signed link alone loads it.
    preview = httpx.get(shown["preview_url"], timeout=30)
    assert preview.status_code == 200 and preview.content == image
    assert preview.headers["content-type"] == "image/png"
    assert preview.headers["x-content-type-options"] == "nosniff"


def test_another_user_gets_404_for_the_item_the_upload_and_the_content(
    desk: DeskProcess, alice: DeskClient, bob: DeskClient
) -> None:
    image = files.png()
    status, created = create(alice, "mine.png", "image/png", len(image))
    assert status == 200
    upload_url = created["upload_descriptor"]["url"]
    bob_headers = {"Authorization": f"Bearer {make_token('bob')}"}

    answer = httpx.post(upload_url, headers=bob_headers, files={"file": ("x.png", image)})
    assert error_of(answer) == (404, "attachment_not_found")

    assert upload(created["upload_descriptor"], image).status_code == 200
    content_url = f"{desk.url}/chatkit/attachments/{created['id']}/content"
    assert error_of(httpx.get(content_url, headers=bob_headers)) == (404, "attachment_not_found")
    alice_headers = {"Authorization": f"Bearer {make_token('alice')}"}
    assert httpx.get(content_url, headers=alice_headers).content == image

    assert error_of(send(bob, "steal", created["id"])) == (404, "attachment_not_found")
    delete = {"type": "attachments.delete", "params": {"attachment_id": created["id"]}}
    assert bob.chatkit(delete).status == 404

    thread_id = send(alice, "mine", created["id"]).thread_id
    assert bob.get_thread(thread_id).status == 404


# Bad input: a clear 4xx before any model call


@pytest.mark.parametrize(
    ("name", "mime", "size", "expected"),
    [
        ("archive.zip", "application/zip", 100, (415, "unsupported_file_type")),
        ("photo.heic", "image/heic", 100, (415, "unsupported_file_type")),
        ("big.png", "image/png", MAX_BYTES + 1, (413, "file_too_large")),
        ("empty.txt", "text/plain", 0, (400, "empty_file")),
        ("", "text/plain", 10, (400, "invalid_file_name")),
    ],
)
def test_create_refuses_what_cannot_be_attached(
    alice: DeskClient, name: str, mime: str, size: int, expected: tuple[int, str]
) -> None:
    assert error_of(create(alice, name, mime, size)) == expected


def test_the_refusal_says_what_to_do(alice: DeskClient) -> None:
    status, body = create(alice, "big.png", "image/png", MAX_BYTES * 2)
    assert status == 413
    assert "CHATKIT_DESK_MAX_ATTACHMENT_BYTES" in body["error"]["message"]


def test_an_upload_longer_than_declared_is_refused_and_nothing_is_kept(
    desk: DeskProcess, alice: DeskClient
) -> None:
    status, created = create(alice, "short.txt", "text/plain", 10)
    assert status == 200
    answer = upload(created["upload_descriptor"], b"x" * 5000)
    assert error_of(answer) == (413, "larger_than_declared")
    assert stored_files(desk, created["id"]) == []
    assert error_of(send(alice, "hi", created["id"])) == (409, "attachment_not_uploaded")


def test_an_upload_over_the_limit_without_a_length_is_refused_and_nothing_kept(
    desk: DeskProcess, alice: DeskClient
) -> None:
    """Chunked, no Content-Length, far over the limit: counted as it streams, refused once the
    limit is passed (the rest is discarded by the server, never stored)."""
    status, created = create(alice, "huge.txt", "text/plain", MAX_BYTES)
    assert status == 200
    descriptor = created["upload_descriptor"]

    def body() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="huge.txt"\r\n\r\n'
        for _ in range(4 * MAX_BYTES // 65536):
            yield b"y" * 65536
        yield b"\r\n--b--\r\n"

    headers = {**descriptor["headers"], "Content-Type": "multipart/form-data; boundary=b"}
    answer = httpx.post(descriptor["url"], headers=headers, content=body(), timeout=60)
    assert error_of(answer) == (413, "file_too_large")
    assert stored_files(desk, created["id"]) == []


def test_an_image_that_is_not_one_is_refused(alice: DeskClient) -> None:
    status, created = create(alice, "cat.png", "image/png", 22)
    assert status == 200
    answer = upload(created["upload_descriptor"], b"this is not a png file")
    assert error_of(answer) == (415, "file_content_mismatch")
    assert "not one" in answer.json()["error"]["message"]


def test_an_image_with_damaged_pixels_is_refused(alice: DeskClient) -> None:
    broken = files.png(64, 64)[:60]  # the PNG signature, then cut off
    status, created = create(alice, "broken.png", "image/png", len(broken))
    assert status == 200
    assert error_of(upload(created["upload_descriptor"], broken)) == (415, "file_content_mismatch")


def test_binary_data_declared_as_text_is_refused(alice: DeskClient) -> None:
    status, created = create(alice, "notes.txt", "text/plain", 4)
    assert status == 200
    assert error_of(upload(created["upload_descriptor"], b"\xff\xfe\x00\x01")) == (
        415,
        "file_content_mismatch",
    )


def test_an_upload_without_the_file_field_or_multipart_is_refused(alice: DeskClient) -> None:
    _, created = create(alice, "a.txt", "text/plain", 3)
    descriptor = created["upload_descriptor"]
    raw = httpx.post(descriptor["url"], headers=descriptor["headers"], content=b"abc")
    assert error_of(raw) == (400, "invalid_upload")
    other_field = httpx.post(
        descriptor["url"], headers=descriptor["headers"], files={"document": ("a.txt", b"abc")}
    )
    assert error_of(other_field) == (400, "invalid_upload")
    assert "'file'" in other_field.json()["error"]["message"]


def test_an_upload_needs_its_capability_or_the_owners_credentials(
    desk: DeskProcess, alice: DeskClient
) -> None:
    _, created = create(alice, "a.txt", "text/plain", 3)
    url = created["upload_descriptor"]["url"]
    assert error_of(httpx.post(url, files={"file": ("a.txt", b"abc")})) == (401, "token_missing")
    # The capability of another attachment is not this one's.
    _, other = create(alice, "b.txt", "text/plain", 3)
    answer = httpx.post(url, headers=other["upload_descriptor"]["headers"], files={"file": b"abc"})
    assert answer.status_code == 401
    # A frontend whose fetch adds the user's own token uploads too.
    own = {"Authorization": f"Bearer {make_token('alice')}"}
    assert httpx.post(url, headers=own, files={"file": ("a.txt", b"abc")}).status_code == 200
    again = httpx.post(url, headers=own, files={"file": ("a.txt", b"abc")})
    assert error_of(again) == (409, "already_uploaded")


def test_a_forged_or_foreign_preview_link_is_refused(desk: DeskProcess, alice: DeskClient) -> None:
    first = attach(alice, "one.png", "image/png", files.png())
    second = attach(alice, "two.png", "image/png", files.png(4, 4))
    token = first["preview_url"].split("token=")[1]
    foreign = f"{desk.url}/chatkit/attachments/{second['id']}/content?token={token}"
    assert error_of(httpx.get(foreign)) == (403, "link_expired")
    assert error_of(httpx.get(foreign.replace(token, "x.y.z"))) == (403, "link_expired")


def test_message_ids_that_cannot_be_sent_are_refused_before_the_stream(
    alice: DeskClient,
) -> None:
    assert error_of(send(alice, "hi", "atc_nope")) == (404, "attachment_not_found")

    _, pending = create(alice, "later.txt", "text/plain", 3)
    assert error_of(send(alice, "hi", pending["id"])) == (409, "attachment_not_uploaded")

    gone = attach(alice, "gone.txt", "text/plain", b"abc")
    delete = {"type": "attachments.delete", "params": {"attachment_id": gone["id"]}}
    assert alice.chatkit(delete).status == 200
    assert error_of(send(alice, "hi", gone["id"])) == (404, "attachment_not_found")

    many = [attach(alice, f"{n}.txt", "text/plain", b"abc")["id"] for n in range(MAX_FILES + 1)]
    assert error_of(send(alice, "hi", *many)) == (413, "too_many_attachments")

    used = attach(alice, "used.txt", "text/plain", b"abc")
    send(alice, "first", used["id"])
    assert error_of(send(alice, "again", used["id"])) == (409, "attachment_already_sent")


def test_an_upload_the_user_abandons_leaves_nothing(desk: DeskProcess, alice: DeskClient) -> None:
    _, created = create(alice, "cancelled.txt", "text/plain", 1_000_000)
    with _half_upload(created["upload_descriptor"]):
        wait_until(
            lambda: (attachments_dir(desk) / f"{created['id']}.part").exists(),
            "the upload began writing",
        )
    wait_until(
        lambda: (
            "attachment_upload_abandoned" in desk.log() and not stored_files(desk, created["id"])
        ),
        "the abandoned upload was cleaned up",
    )
    assert "Traceback" not in desk.log()
    assert error_of(send(alice, "hi", created["id"])) == (409, "attachment_not_uploaded")


def test_the_files_of_one_message_together_have_a_limit(alice: DeskClient) -> None:
    big = files.pdf(MESSAGE_TOTAL // 2 + 1)
    first = attach(alice, "a.pdf", "application/pdf", big)
    second = attach(alice, "b.pdf", "application/pdf", big)
    refused = send(alice, "both", first["id"], second["id"])
    assert error_of(refused) == (413, "attachments_too_large")
    assert "another message" in refused.body["error"]["message"]
    assert send(alice, "one [received]", first["id"]).status == 200


def test_a_file_deleted_while_it_uploads_leaves_nothing(
    desk: DeskProcess, alice: DeskClient
) -> None:
    _, created = create(alice, "slow.txt", "text/plain", 1_000_000)
    with _half_upload(created["upload_descriptor"]) as upload:
        wait_until(
            lambda: (attachments_dir(desk) / f"{created['id']}.part").exists(),
            "the upload began writing",
        )
        delete = {"type": "attachments.delete", "params": {"attachment_id": created["id"]}}
        assert alice.chatkit(delete).status == 200
        status, body = upload.finish()
    assert (status, body["error"]["code"]) == (404, "attachment_not_found")
    assert stored_files(desk, created["id"]) == []


def test_a_sent_file_is_deleted_with_its_conversation_not_alone(alice: DeskClient) -> None:
    sent = attach(alice, "kept.txt", "text/plain", b"abc")
    send(alice, "here", sent["id"])
    delete = {"type": "attachments.delete", "params": {"attachment_id": sent["id"]}}
    assert error_of(alice.chatkit(delete)) == (409, "attachment_in_use")


# Bytes on disk: deleted with their thread or attachment, collected when never sent


def test_deleting_a_thread_or_an_attachment_deletes_its_bytes(
    desk: DeskProcess, alice: DeskClient
) -> None:
    image = attach(alice, "pic.png", "image/png", files.png())
    assert stored_files(desk, image["id"]) == [image["id"], f"{image['id']}.model"]
    thread_id = send(alice, "keep", image["id"]).thread_id

    deleted = alice.chatkit({"type": "threads.delete", "params": {"thread_id": thread_id}})
    assert deleted.status == 200
    assert stored_files(desk, image["id"]) == []

    unsent = attach(alice, "unsent.txt", "text/plain", b"abc")
    assert stored_files(desk, unsent["id"]) == [unsent["id"]]
    alice.chatkit({"type": "attachments.delete", "params": {"attachment_id": unsent["id"]}})
    assert stored_files(desk, unsent["id"]) == []


def test_uploads_never_sent_are_collected_and_half_uploads_cleaned_at_start(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    desk = start_desk(tmp_path, upstream, "openai")
    client = DeskClient(desk.url, make_token("alice"))
    try:
        old = attach(client, "old.txt", "text/plain", b"old")
        fresh = attach(client, "fresh.txt", "text/plain", b"new")
        sent = attach(client, "sent.txt", "text/plain", b"sent")
        send(client, "hi", sent["id"])
        _, half = create(client, "half.txt", "text/plain", 1_000_000)
        with _half_upload(half["upload_descriptor"]):
            wait_until(
                lambda: (attachments_dir(desk) / f"{half['id']}.part").exists(),
                "the upload began writing",
            )
            desk.kill()  # kill -9 mid-upload
    finally:
        client.close()
    assert (attachments_dir(desk) / f"{half['id']}.part").exists()
    two_days_ago = int(time.time()) - 2 * 86400
    with sqlite3.connect(Path(desk.env["CHATKIT_DESK_DATA_DIR"]) / "chatkit-desk.sqlite3") as db:
        db.execute("UPDATE attachments SET created_at = ? WHERE id = ?", (two_days_ago, old["id"]))
        db.execute("UPDATE attachments SET created_at = ? WHERE id = ?", (two_days_ago, sent["id"]))

    desk.start()
    try:
        wait_until(lambda: stored_files(desk, old["id"]) == [], "the old upload was collected")
        assert not (attachments_dir(desk) / f"{half['id']}.part").exists()
        assert stored_files(desk, fresh["id"]) == [fresh["id"]]
        assert stored_files(desk, sent["id"]) == [sent["id"]], "a sent file is never collected"
        again = DeskClient(desk.url, make_token("alice"))
        assert error_of(send(again, "hi", old["id"])) == (404, "attachment_not_found")
        again.close()
    finally:
        desk.stop()


class _half_upload:  # a context manager, like open()
    """An upload that sends its headers and part of its body, then waits (a slow network);
    ``finish`` sends the rest and reads the answer."""

    SIZE = 1_000_000

    def __init__(self, descriptor: dict[str, Any]) -> None:
        url = httpx.URL(descriptor["url"])
        self._sock = socket.create_connection((url.host, url.port), timeout=60)
        head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="half.txt"\r\n\r\n'
        self._tail = b"\r\n--b--\r\n"
        request = (
            f"POST {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
            f"Authorization: {descriptor['headers']['Authorization']}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nConnection: close\r\n"
            f"Content-Length: {len(head) + self.SIZE + len(self._tail)}\r\n\r\n"
        ).encode()
        self._sock.sendall(request + head + b"z" * 100_000)

    def finish(self) -> tuple[int, dict[str, Any]]:
        self._sock.sendall(b"z" * (self.SIZE - 100_000) + self._tail)
        answer = b""
        while chunk := self._sock.recv(65536):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body)

    def __enter__(self) -> _half_upload:
        return self

    def __exit__(self, *_: object) -> None:
        self._sock.close()


def test_uploads_with_their_capability_count_toward_the_owners_rate_limit(
    desk_factory: Callable[..., DeskProcess],
) -> None:
    server = desk_factory(CHATKIT_DESK_RATE_LIMIT_PER_MINUTE="4")
    client = DeskClient(server.url, make_token("alice"))
    try:
        created = [create(client, f"{n}.txt", "text/plain", 3)[1] for n in range(4)]
        answer = upload(created[0]["upload_descriptor"], b"abc")
        assert error_of(answer) == (429, "rate_limited")
        assert "retry-after" in answer.headers
    finally:
        client.close()
