"""Files in the chat page: attached by the paperclip, by dropping and by pasting, uploaded with
ChatKit's two phases, sent, answered, and shown again after a reload; refused files say why.

A real server with the fake provider, headless Chromium running the built-in client. The fake
provider's ``[received]`` answer says what the model was given besides text (type and size of
each image and PDF, the name of each text file), so the tests see the files reach the model.
"""

from __future__ import annotations

import base64
import html
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.support.attachments import pdf, png, user_input_with
from tests.support.browser import Session, open_chat, signed_in_state
from tests.support.desk_process import DeskProcess, make_token
from tests.support.sse_client import DeskClient

OpenPage = Callable[..., Session]
XSS = "<img src=x onerror=window.__xss=1>"
UPLOADS = "**/chatkit/attachments/*/upload"

# Files made in the page, as a drop or a paste carries them: a DataTransfer holding Files.
IN_PAGE_FILES = """(files) => {
  const transfer = new DataTransfer();
  for (const { name, type, b64 } of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type }));
  }
  return transfer;
}"""
DROP = f"""([selector, files]) => {{
  const transfer = ({IN_PAGE_FILES})(files);
  const target = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {{
    const init = {{ dataTransfer: transfer, bubbles: true, cancelable: true }};
    target.dispatchEvent(new DragEvent(type, init));
  }}
}}"""
PASTE = f"""(files) => {{
  const transfer = ({IN_PAGE_FILES})(files);
  const init = {{ clipboardData: transfer, bubbles: true, cancelable: true }};
  const event = new ClipboardEvent("paste", init);
  document.querySelector("#message").dispatchEvent(event);
  return event.defaultPrevented;
}}"""
IMAGE_LOADED = """(img) => img.complete && img.naturalWidth > 0"""


def tag() -> str:
    return uuid.uuid4().hex[:8]


def in_page(name: str, mime_type: str, data: bytes) -> dict[str, str]:
    return {"name": name, "type": mime_type, "b64": base64.b64encode(data).decode()}


@pytest.fixture(scope="module")
def signed_in(browser: Browser, openai_desk: DeskProcess) -> dict[str, Any]:
    return signed_in_state(browser, openai_desk)


@pytest.fixture
def chat(open_page: OpenPage, openai_desk: DeskProcess, signed_in: dict[str, Any]) -> Page:
    return open_chat(open_page, openai_desk, signed_in)


@pytest.fixture
def api(openai_desk: DeskProcess) -> Iterator[DeskClient]:
    """The browser's user ("local"), over the API."""
    client = DeskClient(openai_desk.url, make_token("local"))
    yield client
    client.close()


def attach_by_button(page: Page, *files: dict[str, Any]) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(list(files))  # type: ignore[arg-type]


def picked(name: str, mime_type: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime_type, "buffer": data}


def chip(page: Page, name: str) -> Any:
    return page.locator("#attachment-tray .attachment-chip").filter(
        has=page.locator(".attachment-name", has_text=name)
    )


def send(page: Page, text: str) -> None:
    page.locator("#message").fill(text)
    page.locator("#message").press("Enter")


def wait_idle(page: Page) -> None:
    expect(page.locator("#send")).to_be_visible()
    expect(page.locator(".message.assistant.streaming")).to_have_count(0)


def posted(request: Any, kind: str) -> dict[str, Any] | None:
    """The ChatKit request body when ``request`` is a ``kind`` request, else None."""
    if not request.url.endswith("/chatkit") or request.method != "POST":
        return None
    body = json.loads(request.post_data or "null")
    return body if isinstance(body, dict) and body.get("type") == kind else None


def answer_to(kind: str) -> Callable[[Any], bool]:
    """Matches the response to a ``kind`` ChatKit request."""
    return lambda response: posted(response.request, kind) is not None


# Attach, send, answer, reload


def test_files_attached_by_button_drop_and_paste_reach_the_model_and_show_after_a_reload(
    chat: Page,
) -> None:
    attach_by_button(chat, picked("report.pdf", "application/pdf", pdf(2000)))
    # A dropped Markdown file, labelled as browsers label .md files: with no type at all.
    chat.evaluate(DROP, ["#log", [in_page("notes.md", "", b"# Notes\n\nbuy milk\n")]])
    image = png(40, 30)
    prevented = chat.evaluate(PASTE, [in_page("image.png", "image/png", image)])
    assert prevented, "the pasted image is attached, not pasted as text"

    tray = chat.locator("#attachment-tray .attachment-chip")
    expect(tray).to_have_count(3)
    expect(chat.locator("#attachment-tray .attachment-chip.done")).to_have_count(3)
    expect(chip(chat, "report.pdf")).to_contain_text("PDF · 2 KB")
    expect(chip(chat, "notes.md")).to_contain_text("Markdown")
    thumb = chip(chat, "image.png").locator("img.attachment-thumb")
    thumb.wait_for()
    chat.wait_for_function(IMAGE_LOADED, arg=thumb.element_handle())
    expect(chat.locator("#send")).to_be_enabled()

    text = f"[received] what do you see? {tag()}"
    send(chat, text)
    answer = chat.locator(".message.assistant").last
    expect(answer).to_contain_text("Received: ")
    expect(answer).to_contain_text("file report.pdf application/pdf 2000 B")
    expect(answer).to_contain_text("text notes.md")
    expect(answer).to_contain_text(re.compile(r"image/png \d+ B"))
    wait_idle(chat)
    expect(chat.locator("#attachment-tray")).to_be_hidden()

    def check_the_message(page: Page) -> None:
        message = page.locator(".message.user").last
        expect(message.locator(".bubble")).to_have_text(text)
        files = message.locator(".message-attachments")
        expect(files.locator(".attachment-chip .attachment-name")).to_have_text(
            ["report.pdf", "notes.md"]
        )
        expect(files.locator(".attachment-chip", has_text="report.pdf")).to_have_attribute(
            "href", re.compile(r"^/chatkit/attachments/[\w-]+/content$")
        )
        preview = files.locator("img.attachment-preview")
        expect(preview).to_have_attribute("alt", "image.png")
        page.wait_for_function(IMAGE_LOADED, arg=preview.element_handle())
        size = preview.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert size == [40, 30], size

    check_the_message(chat)
    chat.reload()
    check_the_message(chat)
    expect(chat.locator(".message.assistant").last).to_contain_text("text notes.md")


def test_a_file_can_be_sent_without_text(chat: Page) -> None:
    attach_by_button(chat, picked("only.txt", "text/plain", b"just the file\n"))
    expect(chip(chat, "only.txt")).to_have_class(re.compile(r"\bdone\b"))
    chat.locator("#send").click()
    message = chat.locator(".message.user").last
    expect(message.locator(".attachment-name")).to_have_text("only.txt")
    expect(message.locator(".bubble")).to_be_hidden()
    expect(chat.locator(".message.assistant").last).to_contain_text("You said:")
    wait_idle(chat)


# While uploading, and removing


def test_send_waits_for_uploads_and_removing_a_file_deletes_it(chat: Page, api: DeskClient) -> None:
    held: list[Route] = []
    chat.route(UPLOADS, lambda route: held.append(route))
    attach_by_button(chat, picked("slow.pdf", "application/pdf", pdf(3000)))
    slow = chip(chat, "slow.pdf")
    expect(slow).to_have_class(re.compile(r"\buploading\b"))
    expect(slow.locator("progress")).to_be_visible()
    expect(slow).to_contain_text("Uploading…")
    expect(chat.locator("#send")).to_be_disabled()
    send(chat, f"not yet {tag()}")  # Enter does not send either
    expect(chat.locator(".message.user")).to_have_count(0)

    # Removed while it uploads: the upload stops and the attachment is deleted on the server.
    with chat.expect_request(lambda r: posted(r, "attachments.delete") is not None) as deleting:
        slow.get_by_role("button", name="Remove slow.pdf").click()
    expect(slow).to_have_count(0)
    expect(chat.locator("#send")).to_be_enabled()
    removed = posted(deleting.value, "attachments.delete")
    assert removed is not None
    expect(chat.locator("#message")).to_have_value(re.compile("not yet"))
    chat.unroute(UPLOADS)

    # Uploaded, then removed: deleted too, so a message cannot carry it any more.
    with chat.expect_response(answer_to("attachments.create")) as made:
        attach_by_button(chat, picked("gone.png", "image/png", png()))
    gone_id = made.value.json()["id"]
    gone = chip(chat, "gone.png")
    expect(gone).to_have_class(re.compile(r"\bdone\b"))
    with chat.expect_response(answer_to("attachments.delete")) as done:
        gone.get_by_role("button", name="Remove gone.png").click()
    assert done.value.ok, done.value.text()
    assert posted(done.value.request, "attachments.delete") == {
        "type": "attachments.delete",
        "params": {"attachment_id": gone_id},
    }
    expect(chat.locator("#attachment-tray")).to_be_hidden()
    refused = api.chatkit(
        {"type": "threads.create", "params": {"input": user_input_with("hi", gone_id)}}
    )
    assert refused.status == 404, refused.body
    assert refused.body["error"]["code"] == "attachment_not_found"


# Refused files


@pytest.fixture(scope="module")
def small_desk(tmp_path_factory: pytest.TempPathFactory, upstream: Any) -> Iterator[DeskProcess]:
    from tests.support.desk_process import base_env

    folder = tmp_path_factory.mktemp("small-attachments")
    env = base_env(folder / "data", upstream.base_url, folder / "keyring.json")
    env["CHATKIT_DESK_MAX_ATTACHMENT_BYTES"] = "4096"
    env["CHATKIT_DESK_MAX_ATTACHMENTS_PER_MESSAGE"] = "2"
    env["CHATKIT_DESK_ATTACHMENT_TYPES"] = "image/png,application/pdf,text/plain"
    desk = DeskProcess(env, folder / "server.log").start()
    yield desk
    desk.stop()


def test_refused_files_say_why_stay_visible_and_are_not_sent(
    open_page: OpenPage, small_desk: DeskProcess
) -> None:
    page = open_page(small_desk).page
    expect(page.locator("#message")).to_be_visible()
    limits = page.request.get(small_desk.url + "/config.json").json()["attachments"]
    assert limits == {
        "max_bytes": 4096,
        "max_count": 2,
        "types": ["image/png", "application/pdf", "text/plain"],
    }
    assert page.locator("#file-input").get_attribute("accept") == (
        "image/png,.png,application/pdf,.pdf,text/plain,.txt,.text,.log"
    )
    created: list[str] = []
    page.on("request", lambda r: created.append(r.url) if posted(r, "attachments.create") else None)

    # Told apart in the page, never uploaded: too large, and a type this server does not take.
    attach_by_button(page, picked("big.pdf", "application/pdf", pdf(10_000)))
    big = chip(page, "big.pdf")
    expect(big).to_have_class(re.compile(r"\bfailed\b"))
    expect(big.locator(".attachment-error")).to_have_text(
        "The file is 9.8 KB; the limit is 4 KB per file (CHATKIT_DESK_MAX_ATTACHMENT_BYTES)."
    )
    attach_by_button(page, picked("data.csv", "text/csv", b"a,b\n1,2\n"))
    expect(chip(page, "data.csv").locator(".attachment-error")).to_contain_text(
        "data.csv is CSV, which cannot be attached; this server accepts: PNG image, PDF, Text."
    )
    assert created == []
    expect(page.locator("#send")).to_be_enabled()

    # The server is the judge: bytes that are not what their name says are refused by it, with
    # its message; the page shows it on the file.
    attach_by_button(page, picked("fake.png", "image/png", b"this is not a picture at all"))
    fake = chip(page, "fake.png")
    expect(fake).to_have_class(re.compile(r"\bfailed\b"))
    expect(fake.locator(".attachment-error")).to_have_text(
        "The file was declared as a PNG image, but its content is not one."
    )
    assert len(created) == 1

    # A failed file is left out of the message, and leaves the tray with it.
    attach_by_button(page, picked("ok.txt", "text/plain", b"fine\n"))
    expect(chip(page, "ok.txt")).to_have_class(re.compile(r"\bdone\b"))
    send(page, f"[received] {tag()}")
    expect(page.locator(".message.assistant").last).to_contain_text("Received: text ok.txt.")
    expect(page.locator("#attachment-tray")).to_be_hidden()
    expect(page.locator(".message.user .attachment-name")).to_have_text(["ok.txt"])


def test_the_servers_limit_counts_when_the_page_was_told_another(
    open_page: OpenPage, small_desk: DeskProcess
) -> None:
    """The settings changed since the page loaded (here: its config says 20 MB): the server
    refuses the file with its own message, which the page shows on it."""

    def stale_config(route: Route) -> None:
        config = route.fetch().json()
        config["attachments"]["max_bytes"] = 20 * 1024 * 1024
        route.fulfill(json=config)

    session = open_page(
        small_desk,
        before_goto=lambda context: context.route("**/config.json", stale_config),
    )
    page = session.page
    expect(page.locator("#message")).to_be_visible()
    with page.expect_response(answer_to("attachments.create")) as made:
        attach_by_button(page, picked("big.pdf", "application/pdf", pdf(10_000)))
    assert made.value.status == 413
    big = chip(page, "big.pdf")
    expect(big.locator(".attachment-error")).to_have_text(
        "The file is 9.8 KB; the limit is 4 KB per file (CHATKIT_DESK_MAX_ATTACHMENT_BYTES)."
    )
    expect(page.locator("#send")).to_be_enabled()
    big.get_by_role("button", name="Remove big.pdf").click()
    expect(page.locator("#attachment-tray")).to_be_hidden()


# Names are text


def test_a_file_name_with_html_is_shown_as_text(chat: Page) -> None:
    image_name, text_name = f"{XSS}.png", f"{XSS}.txt"
    attach_by_button(
        chat,
        picked(image_name, "image/png", png()),
        picked(text_name, "text/plain", b"hello\n"),
    )
    expect(chat.locator("#attachment-tray .attachment-chip.done")).to_have_count(2)
    expect(chat.locator("#attachment-tray .attachment-name")).to_have_text([image_name, text_name])
    send(chat, f"[received] names {tag()}")
    # The model is told the name escaped (it cannot close the file's wrapper); the page shows
    # the fake's reply of it as text, not as markup.
    expect(chat.locator(".message.assistant").last).to_contain_text(
        f"text {html.escape(text_name)}"
    )
    wait_idle(chat)

    def check(page: Page) -> None:
        message = page.locator(".message.user").last
        expect(message.locator(".attachment-name")).to_have_text([text_name])
        expect(message.locator("img.attachment-preview")).to_have_attribute("alt", image_name)
        assert page.evaluate("window.__xss") is None
        assert page.locator("img[src='x']").count() == 0

    check(chat)
    chat.reload()
    check(chat)


# ChatKit.js


def test_chatkit_js_is_given_attachments_as_this_server_takes_them(
    open_page: OpenPage, small_desk: DeskProcess
) -> None:
    page = open_page(small_desk, cdn="fake").page
    expect(page.locator("openai-chatkit")).to_have_text("fake ChatKit.js component")
    options = page.evaluate("window.__chatkitOptions")[0]
    assert options["api"]["uploadStrategy"] == {"type": "two_phase"}
    assert options["composer"]["attachments"] == {
        "enabled": True,
        "maxSize": 4096,
        "maxCount": 2,
        "accept": {
            "image/png": [".png"],
            "application/pdf": [".pdf"],
            "text/plain": [".txt", ".text", ".log"],
        },
    }
