"""The chat page in a real browser (headless Chromium) against the real server and fake upstream.

The built-in client is what runs here (the ChatKit.js CDN is refused, as offline); the ChatKit.js
path is checked with a fake component served in place of the CDN script.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.support.browser import Session, open_chat, signed_in_state
from tests.support.desk_process import DeskProcess, make_token
from tests.support.fake_upstream import XSS_REPLY, FakeUpstream
from tests.support.sse_client import DeskClient

OpenPage = Callable[..., Session]


def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def signed_in(browser, openai_desk: DeskProcess) -> dict[str, Any]:
    return signed_in_state(browser, openai_desk)


@pytest.fixture
def chat(open_page: OpenPage, openai_desk: DeskProcess, signed_in: dict[str, Any]) -> Page:
    return open_chat(open_page, openai_desk, signed_in)


@pytest.fixture
def api(openai_desk: DeskProcess) -> Iterator[DeskClient]:
    """The same user as the browser session ("local"), over the API."""
    client = DeskClient(openai_desk.url, make_token("local"))
    yield client
    client.close()


def send(page: Page, text: str) -> None:
    page.locator("#message").fill(text)
    page.locator("#message").press("Enter")


def wait_idle(page: Page) -> None:
    expect(page.locator("#send")).to_be_visible(timeout=20_000)
    expect(page.locator(".message.assistant.streaming")).to_have_count(0)


def last_answer(page: Page) -> Locator:
    return page.locator(".message.assistant").last


def wait_until(condition: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


# Sign-in, streaming, turns, reload


def test_sign_in_then_the_reply_streams_token_by_token(
    open_page: OpenPage,
    openai_desk: DeskProcess,
) -> None:
    session = open_page(openai_desk)  # through a fresh one-time link
    page = session.page
    expect(page.locator(".app[data-client='builtin']")).to_be_visible()
    assert session.cdn.requests, "ChatKit.js was tried first"

    text = f"[slow] stream {tag()}"
    send(page, text)
    expect(page.locator(".message.user").last).to_have_text(text)
    answer = last_answer(page)
    expect(answer).to_contain_text("slow3")
    assert "slow39" not in answer.inner_text(), "part of the answer is shown before the end"
    expect(page.locator("#stop")).to_be_visible()
    expect(answer).to_contain_text("slow39", timeout=15_000)
    wait_idle(page)

    row = page.locator(".thread", has_text=text)
    expect(row.locator(".thread-open")).to_have_attribute("aria-current", "page")
    expect(row.locator("time")).to_have_text(re.compile(r"\d"))
    expect(page.locator("#thread-heading")).to_have_text(text)


def test_a_second_turn_and_the_thread_survives_a_reload(
    chat: Page, openai_desk: DeskProcess
) -> None:
    first, second = f"first {tag()}", f"second {tag()}"
    send(chat, first)
    expect(last_answer(chat)).to_contain_text("This is our first exchange.")
    wait_idle(chat)
    send(chat, second)
    expect(last_answer(chat)).to_contain_text(f"Earlier you said: {first}.")
    wait_idle(chat)
    thread_id = chat.url.split("#", 1)[1]
    assert thread_id.startswith("thr_")

    chat.reload()
    expect(chat.locator(".message.user")).to_have_text([first, second])
    expect(chat.locator(".message.assistant")).to_have_count(2)
    expect(chat.locator("#thread-heading")).to_have_text(first)

    chat.goto(openai_desk.url + "/")  # no hash: the last thread comes back from localStorage
    expect(chat.locator(".message.user")).to_have_text([first, second])
    assert chat.url.endswith("#" + thread_id)


def test_a_cut_short_answer_still_says_so_after_a_reload(chat: Page) -> None:
    send(chat, f"cut me off [truncate] {tag()}")
    expect(chat.locator("#error")).to_contain_text("ended the answer early")
    answer = last_answer(chat)
    expect(answer).to_contain_text("You said: cut me off")
    expect(answer.locator("em")).to_have_text(
        "(This answer is incomplete: it was cut short before the end.)"
    )
    wait_idle(chat)

    chat.reload()
    expect(last_answer(chat)).to_contain_text("You said: cut me off")
    expect(last_answer(chat).locator("em")).to_have_text(
        "(This answer is incomplete: it was cut short before the end.)"
    )


# The thread list: switch, rename, delete


def test_switch_rename_and_delete_threads(chat: Page, api: DeskClient) -> None:
    a, b = f"alpha {tag()}", f"bravo {tag()}"
    thread_a = api.create_thread(a).thread_id
    thread_b = api.create_thread(b).thread_id
    chat.reload()

    chat.locator(".thread", has_text=a).locator(".thread-open").click()
    expect(chat.locator(".message.user")).to_have_text([a])
    expect(last_answer(chat)).to_contain_text(f"You said: {a}.")
    assert chat.url.endswith("#" + thread_a)
    chat.locator(".thread", has_text=b).locator(".thread-open").click()
    expect(chat.locator(".message.user")).to_have_text([b])
    assert chat.url.endswith("#" + thread_b)

    # Rename with the keyboard: the field takes focus, Escape cancels, Enter saves.
    renamed = f"renamed {tag()}"
    chat.get_by_role("button", name=f"Rename “{a}”").click()
    field = chat.get_by_label("New name for the chat")
    expect(field).to_be_focused()
    field.fill("not this")
    field.press("Escape")
    expect(chat.locator(".thread", has_text=a)).to_have_count(1)
    chat.get_by_role("button", name=f"Rename “{a}”").click()
    chat.get_by_label("New name for the chat").fill(renamed)
    chat.get_by_label("New name for the chat").press("Enter")
    expect(chat.locator(".thread", has_text=renamed)).to_have_count(1)
    expect(chat.locator(".thread", has_text=a)).to_have_count(0)
    assert api.get_thread(thread_a).body["title"] == renamed

    # Delete asks first; dismissing keeps the thread.
    chat.once("dialog", lambda dialog: dialog.dismiss())
    chat.get_by_role("button", name=f"Delete “{b}”").click()
    expect(chat.locator(".thread", has_text=b)).to_have_count(1)
    chat.once("dialog", lambda dialog: dialog.accept())
    chat.get_by_role("button", name=f"Delete “{b}”").click()
    expect(chat.locator(".thread", has_text=b)).to_have_count(0)
    expect(chat.locator("#thread-heading")).to_have_text("New chat")
    assert api.get_thread(thread_b).status == 404
    assert api.get_thread(thread_a).status == 200
    chat.reload()
    expect(chat.locator(".thread", has_text=renamed)).to_have_count(1)
    expect(chat.locator(".thread", has_text=b)).to_have_count(0)


# Stop, errors, retry


def test_stop_cancels_the_stream_and_keeps_the_partial_answer(
    chat: Page, api: DeskClient, upstream: FakeUpstream
) -> None:
    abandoned = upstream.state.streams_abandoned
    send(chat, f"[slow] stop {tag()}")
    answer = last_answer(chat)
    expect(answer).to_contain_text("slow2")
    chat.locator("#stop").click()
    expect(chat.locator("#send")).to_be_visible()
    expect(answer.locator(".message-note")).to_have_text("Stopped — the answer so far is kept.")
    time.sleep(0.6)
    shown = answer.locator(".bubble").inner_text()
    assert "slow2" in shown and "slow39" not in shown

    thread_id = chat.url.split("#", 1)[1]

    def saved_partial() -> str:
        items = api.list_items(thread_id).body["data"]
        texts = [p["text"] for i in items if i["type"] == "assistant_message" for p in i["content"]]
        return "".join(texts)

    kept = wait_until(saved_partial)
    assert "slow2" in kept and "slow39" not in kept, kept
    assert wait_until(lambda: upstream.state.streams_abandoned > abandoned), "upstream not stopped"
    chat.reload()
    expect(last_answer(chat)).to_contain_text("slow2")
    assert "slow39" not in last_answer(chat).inner_text()


def test_an_upstream_401_is_shown_as_the_servers_message(chat: Page) -> None:
    message = f"[401] {tag()}"
    send(chat, message)
    error = chat.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("The OpenAI API key was rejected — set a new one in Settings")
    expect(chat.get_by_role("button", name="Retry")).to_be_hidden()
    expect(chat.locator(".message.user").last).to_have_text(message)
    expect(chat.locator(".message.assistant")).to_have_count(0)
    wait_idle(chat)


def test_a_retryable_error_offers_retry_which_asks_again(
    chat: Page, upstream: FakeUpstream
) -> None:
    message = f"[500] {tag()}"
    send(chat, message)
    error = chat.locator("#error")
    expect(error).to_contain_text("OpenAI had a server error (500)", timeout=30_000)
    retry = chat.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    wait_idle(chat)
    asked = upstream.state.user_texts().count(message)
    retry.click()
    expect(error).to_contain_text("OpenAI had a server error (500)", timeout=30_000)
    wait_idle(chat)
    assert upstream.state.user_texts().count(message) > asked, "Retry sent the message again"
    expect(chat.locator(".message.user")).to_have_text([message])


def test_a_refused_request_shows_the_servers_message_and_keeps_the_text(
    chat: Page, api: DeskClient
) -> None:
    title = f"gone {tag()}"
    thread_id = api.create_thread(title).thread_id
    chat.reload()
    chat.locator(".thread", has_text=title).locator(".thread-open").click()
    expect(chat.locator(".message.user")).to_have_text([title])
    assert api.chatkit({"type": "threads.delete", "params": {"thread_id": thread_id}}).status in (
        200,
        204,
    )

    send(chat, "are you there?")  # the thread was deleted elsewhere: 404 before any stream
    expect(chat.locator("#error")).to_contain_text(f"Thread '{thread_id}' was not found.")
    expect(chat.get_by_role("button", name="Retry")).to_be_hidden()
    expect(chat.locator("#message")).to_have_value("are you there?")
    expect(chat.locator(".message.user")).to_have_text([title])
    wait_idle(chat)


# Rendering: HTML escaped, Markdown with code blocks; the keyboard


def test_html_in_a_reply_is_shown_as_text_never_run(chat: Page) -> None:
    send(chat, f"[xss] {tag()}")
    answer = last_answer(chat)
    expect(answer).to_contain_text(XSS_REPLY)
    wait_idle(chat)
    for _ in range(2):
        assert chat.evaluate("window.__xss") is None
        assert chat.locator("#log img, #log script").count() == 0
        expect(last_answer(chat)).to_contain_text('<img src=x onerror="window.__xss=1">')
        chat.reload()  # and again when the history is rendered


def test_markdown_with_a_code_block_and_enter_shift_enter(chat: Page) -> None:
    chat.get_by_role("button", name="New chat").click()
    box = chat.get_by_label("Message")
    expect(box).to_be_focused()
    for i, line in enumerate(["Say **bold** and `x<y`", "```python", "print('hi')", "```", "end"]):
        if i:
            chat.keyboard.press("Shift+Enter")
        chat.keyboard.type(line)
    assert box.input_value().count("\n") == 4, "Shift+Enter makes a new line"
    expect(chat.locator(".message.user")).to_have_count(0)
    chat.keyboard.press("Enter")
    expect(chat.locator(".message.user")).to_have_count(1)
    assert box.input_value() == ""

    answer = last_answer(chat)
    expect(answer).to_contain_text("This is our first exchange.")
    wait_idle(chat)
    expect(answer.locator("strong")).to_have_text("bold")
    expect(answer.locator("p code")).to_have_text("x<y")
    expect(answer.locator("pre code.language-python")).to_have_text("print('hi')")
    expect(answer.locator(".code-lang")).to_have_text("python")

    rendered = chat.evaluate(
        """async () => {
            const { renderMarkdown } = await import('/static/markdown.js');
            return [
              renderMarkdown('[click](javascript:alert(1)) [ok](https://example.com)'),
              renderMarkdown('<b onclick="x()">hi</b>'),
              renderMarkdown('- one\\n- two\\n\\n1. first'),
            ];
        }"""
    )
    assert "<a" in rendered[0] and 'href="https://example.com"' in rendered[0]
    assert "javascript:" not in rendered[0].split("<a", 1)[1]
    assert rendered[1] == "<p>&lt;b onclick=&quot;x()&quot;&gt;hi&lt;/b&gt;</p>"
    assert (
        "<ul><li>one</li><li>two</li></ul>" in rendered[2]
        and "<ol><li>first</li></ol>" in rendered[2]
    )


# Which client runs


def test_chatkit_js_when_its_script_loads_and_the_built_in_client_when_chosen_in_settings(
    desk_factory: Callable[..., DeskProcess],
    open_page: OpenPage,
) -> None:
    desk = desk_factory(CHATKIT_DESK_DOMAIN_KEY="domain_pk_test_1234")
    session = open_page(desk, cdn="fake")
    page = session.page
    expect(page.locator("openai-chatkit")).to_have_text("fake ChatKit.js component")
    options = page.evaluate("window.__chatkitOptions")
    assert options[0]["api"] == {
        "url": f"{desk.url}/chatkit",
        "domainKey": "domain_pk_test_1234",
        "uploadStrategy": {"type": "two_phase"},
    }
    assert options[0]["theme"]["colorScheme"] == "light"
    expect(page.locator(".app")).to_have_count(0)
    assert page.evaluate("document.documentElement.dataset.client") == "chatkit-js"

    # A person can still switch to the built-in client from there.
    page.get_by_role("link", name="Use the built-in client").click()
    expect(page.locator(".app[data-client='builtin']")).to_be_visible()
    expect(page.locator("#sidebar-note")).to_contain_text("chosen on this page")

    # Chosen in Settings (the window writes settings.json; it applies without a restart):
    # the built-in client, and ChatKit.js is not even asked for.
    settings_file = Path(desk.env["CHATKIT_DESK_DATA_DIR"]) / "settings.json"
    settings_file.write_text(json.dumps({"web_client": "builtin"}))
    asked = len(session.cdn.requests)
    page.goto(desk.url + "/")
    expect(page.locator(".app[data-client='builtin']")).to_be_visible()
    expect(page.locator("#sidebar-note")).to_contain_text("chosen in settings")
    expect(page.locator("openai-chatkit")).to_have_count(0)
    send(page, f"builtin {tag()}")
    expect(last_answer(page)).to_contain_text("You said: builtin")
    assert len(session.cdn.requests) == asked


@pytest.mark.parametrize("cdn", ["fail", "hang"])
def test_the_built_in_client_takes_over_when_chatkit_js_cannot_load(
    open_page: OpenPage,
    openai_desk: DeskProcess,
    signed_in: dict[str, Any],
    cdn: str,
) -> None:
    started = time.monotonic()
    session = open_page(openai_desk, storage_state=signed_in, cdn=cdn)
    page = session.page
    expect(page.locator(".app[data-client='builtin']")).to_be_visible(timeout=10_000)
    elapsed = time.monotonic() - started
    assert session.cdn.requests
    expect(page.locator("#sidebar-note")).to_contain_text("ChatKit.js could not be loaded")
    if cdn == "hang":
        assert elapsed >= 3.5, "it waited for the script"
    expect(page.locator("openai-chatkit")).to_have_count(0)
    send(page, f"offline {tag()}")
    expect(last_answer(page)).to_contain_text("You said: offline")


def test_a_readable_message_when_the_page_script_cannot_load(
    open_page: OpenPage,
    openai_desk: DeskProcess,
    signed_in: dict[str, Any],
) -> None:
    def block(context: BrowserContext) -> None:
        context.route(f"{openai_desk.url}/static/app.js", lambda route: route.abort("failed"))

    page = open_page(openai_desk, storage_state=signed_in, before_goto=block).page
    expect(page.get_by_role("heading", name="The chat could not start")).to_be_visible(timeout=8000)
    expect(page.locator("#boot")).to_contain_text("chatkit-desk open")


# Looks: narrow windows, light and dark


def test_usable_in_a_narrow_window(
    open_page: OpenPage,
    openai_desk: DeskProcess,
    signed_in: dict[str, Any],
) -> None:
    page = open_page(
        openai_desk, storage_state=signed_in, viewport={"width": 380, "height": 700}
    ).page
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#sidebar")).to_be_hidden()
    text = f"narrow {tag()}"
    send(page, text)
    expect(last_answer(page)).to_contain_text(f"You said: {text}")
    wait_idle(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380, f"the page scrolls sideways ({width}px)"
    send_box = page.locator("#send").bounding_box()
    assert send_box and send_box["x"] + send_box["width"] <= 380

    toggle = page.get_by_role("button", name="Chats")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(page.locator("#sidebar")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.locator(".thread", has_text=text).locator(".thread-open").click()
    expect(page.locator("#sidebar")).to_be_hidden()


def luminance(css_color: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_readable_in_light_and_dark_mode(
    open_page: OpenPage,
    openai_desk: DeskProcess,
    signed_in: dict[str, Any],
    scheme: str,
) -> None:
    page = open_page(openai_desk, storage_state=signed_in, color_scheme=scheme).page
    expect(page.locator("#message")).to_be_visible()
    colors = page.evaluate(
        """() => {
            const style = getComputedStyle(document.body);
            return [style.backgroundColor, style.color];
        }"""
    )
    background, text = (luminance(c) for c in colors)
    if scheme == "dark":
        assert background < 0.2 < 0.7 < text
    else:
        assert text < 0.3 < 0.9 < background


# For frontend developers


def test_the_developer_page_is_public_and_shows_how_to_connect(openai_desk: DeskProcess) -> None:
    response = httpx.get(f"{openai_desk.url}/docs", timeout=60)
    assert response.status_code == 200
    page = html.unescape(response.text)  # the snippets as a reader sees them
    for needed in (
        "<openai-chatkit",
        "setOptions",
        "useChatKit",
        "chatkit-desk token",
        "Authorization",
        "Bearer",
        "CHATKIT_DESK_ALLOWED_ORIGINS",
        "vite.config",
        "http://127.0.0.1:8765/chatkit",
        "domain_pk_localhost_dev",
        "origin_not_allowed",
        "threads.custom_action",
        "tool.approval",
        "Thought for N s",
        "/api/threads/{thread_id}/usage",
        "@modelcontextprotocol/server-filesystem",
        "mcpServers",
        "prompt injection",
        # Attachments: the ChatKit.js options, how uploads are authenticated, the limits.
        'uploadStrategy: { type: "two_phase" }',
        "attachments: {\n    enabled: true,",
        "maxSize: 20 * 1024 * 1024",
        "maxCount: 10",
        '"image/webp": [".webp"]',
        '"application/pdf": [".pdf"]',
        '"text/markdown": [".md", ".markdown"]',
        '"text/csv": [".csv"]',
        '"application/json": [".json"]',
        "upload_descriptor",
        '"headers": {"Authorization": "Bearer <capability>"}',
        "whether or not ChatKit.js sends it through your custom",
        "-F file=@chart.png",
        "CHATKIT_DESK_MAX_ATTACHMENT_BYTES",
        "CHATKIT_DESK_MAX_ATTACHMENTS_PER_MESSAGE",
        "CHATKIT_DESK_ATTACHMENT_TYPES",
        "CHATKIT_DESK_ATTACHMENT_HISTORY_BYTES",
        "CHATKIT_DESK_UNSENT_ATTACHMENT_HOURS",
        "file_too_large",
        "unsupported_file_type",
        "file_content_mismatch",
    ):
        assert needed in page, needed
    assert not re.search(r"\bsk-\w|eyJ\w", page), "no keys or tokens in it"
