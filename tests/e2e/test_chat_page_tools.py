"""The chat page with tools, approvals, reasoning, notices and usage: a real server with a real
MCP server (``t`` runs freely, ``ask`` asks first), the fake provider, headless Chromium.

The fake provider calls the tools a message names (``[tool:t__echo {…}]``) and then answers by
quoting what came back; ``[reason]`` makes it think first (the server asks for summaries).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.browser import open_chat, open_session, signed_in_state
from tests.support.desk_process import DeskProcess, start_with_tools
from tests.support.fake_upstream import FakeUpstream
from tests.support.mcp_servers import release, stdio_entry, write_mcp_json

XSS = "<img src=x onerror=window.__xss=1>"


def start_desk(folder: Path, upstream: FakeUpstream, **env: str) -> DeskProcess:
    return start_with_tools(folder, upstream.base_url, **env)


@pytest.fixture(scope="module")
def tools_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("page-tools")
    write_mcp_json(
        folder / "mcp.json",
        {
            "t": stdio_entry(folder / "t", requireApproval="never"),
            "ask": stdio_entry(folder / "ask"),  # asks first: the default
        },
    )
    return folder


@pytest.fixture(scope="module")
def tool_desk(tools_dir: Path, upstream: FakeUpstream) -> Iterator[DeskProcess]:
    desk = start_desk(tools_dir, upstream, CHATKIT_DESK_REASONING_SUMMARY="auto")
    yield desk
    desk.stop()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, tool_desk: DeskProcess) -> dict[str, Any]:
    return signed_in_state(browser, tool_desk)


@pytest.fixture
def chat(open_page: Any, tool_desk: DeskProcess, signed_in: dict[str, Any]) -> Page:
    return open_chat(open_page, tool_desk, signed_in)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def call(tool: str, /, **arguments: Any) -> str:
    return f"[tool:{tool} {json.dumps(arguments)}]"


def send(page: Page, text: str) -> None:
    page.locator("#message").fill(text)
    page.locator("#message").press("Enter")


def wait_idle(page: Page) -> None:
    expect(page.locator("#send")).to_be_visible()
    expect(page.locator(".message.assistant.streaming")).to_have_count(0)


def answers(page: Page) -> Locator:
    return page.locator(".message.assistant .bubble")


def tools(page: Page) -> Locator:
    return page.locator(".workflow[data-kind='tools']")


def card(page: Page) -> Locator:
    return page.locator(".widget .w-card")


def compact(**arguments: Any) -> str:
    return json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)


# Tool calls


def test_a_tool_call_is_a_workflow_that_opens_shows_the_call_and_survives_a_reload(
    chat: Page,
) -> None:
    marker = tag()
    send(chat, f"Echo {call('t__echo', text=marker)}")
    expect(answers(chat)).to_have_text(f"Tool results: t__echo → {marker}.")
    wait_idle(chat)

    workflow = tools(chat)
    expect(workflow.locator(".workflow-head")).to_have_text("Used 1 tool")
    expect(workflow).not_to_have_attribute("open", "")  # closed once done, as ChatKit.js does
    expect(workflow.locator(".task-name")).not_to_be_visible()
    workflow.locator(".workflow-head").click()
    expect(workflow.locator(".task-name")).to_have_text("t › echo")
    expect(workflow.locator(".task-args")).to_have_text(compact(text=marker))
    expect(workflow.locator(".task-result")).to_have_text(marker)
    expect(workflow.locator(".tool-call")).to_have_class("task tool-call done")
    workflow.locator(".workflow-head").click()
    expect(workflow.locator(".task-name")).not_to_be_visible()

    chat.reload()
    workflow = tools(chat)
    expect(workflow.locator(".workflow-head")).to_have_text("Used 1 tool")
    workflow.locator(".workflow-head").click()
    expect(workflow.locator(".task-result")).to_have_text(marker)
    # The order of the thread: the question, the calls, the answer.
    kinds = chat.locator("#log > *").evaluate_all(
        "(els) => els.map((el) => el.matches('.workflow') ? 'workflow' : el.className)"
    )
    assert kinds == ["message user", "workflow", "message assistant"]


def test_a_running_call_shows_open_and_running_until_it_answers(
    chat: Page, tools_dir: Path
) -> None:
    name = f"go-{tag()}"
    send(chat, call("t__wait_for", name=name))
    workflow = tools(chat)
    expect(workflow.locator(".workflow-head")).to_have_text("Using tools…")
    expect(workflow).to_have_attribute("open", "")
    expect(workflow.locator(".tool-call.running .task-state")).to_have_text("running…")

    release(tools_dir / "t", name)
    expect(answers(chat)).to_contain_text(f"{name} is there")
    expect(workflow.locator(".workflow-head")).to_have_text("Used 1 tool")
    expect(workflow).not_to_have_class("running")


def test_a_failing_tool_shows_its_error(chat: Page) -> None:
    send(chat, call("t__fail", message="disk on fire"))
    wait_idle(chat)
    workflow = tools(chat)
    workflow.locator(".workflow-head").click()
    expect(workflow.locator(".task-error")).to_contain_text("disk on fire")
    expect(workflow.locator(".task-state")).to_have_text("failed")


def test_html_from_a_tool_is_shown_as_text(chat: Page) -> None:
    send(chat, call("t__echo", text=XSS))
    wait_idle(chat)
    workflow = tools(chat)
    workflow.locator(".workflow-head").click()
    expect(workflow.locator(".task-result")).to_have_text(XSS)
    expect(workflow.locator(".task-args")).to_have_text(compact(text=XSS))
    expect(chat.locator("#log img")).to_have_count(0)
    assert chat.evaluate("window.__xss") is None


# Approvals


def ask(chat: Page, text: str) -> Locator:
    """Sends a call that needs approval; the card that asks."""
    send(chat, call("ask__echo", text=text))
    expect(card(chat).locator(".w-title")).to_have_text("Run ask › echo?")
    wait_idle(chat)
    expect(tools(chat).locator(".workflow-head")).to_have_text("Waiting for your approval")
    expect(chat.locator(".message.assistant")).to_have_count(0)
    return card(chat)


def click_disables_both(chat: Page, label: str) -> list[bool]:
    """Clicks a card's button; whether each button was disabled right after the click."""
    return chat.evaluate(
        """(label) => {
            const buttons = [...document.querySelectorAll('.widget button.w-action')];
            buttons.find((b) => b.textContent === label).click();
            return buttons.map((b) => b.disabled);
        }""",
        label,
    )


def test_allow_runs_the_call_then_the_answer_comes_and_a_reload_shows_the_decision(
    chat: Page, tools_dir: Path
) -> None:
    marker = tag()
    asking = ask(chat, marker)
    expect(asking.locator("button.w-button")).to_have_text(["Allow", "Deny"])
    expect(asking.locator(".w-markdown code")).to_contain_text(f'"text": "{marker}"')

    assert click_disables_both(chat, "Allow") == [True, True], "no second click"
    expect(asking.locator(".w-badge")).to_have_text("Allowed")
    expect(asking.locator("button.w-button")).to_have_count(0)
    expect(answers(chat)).to_have_text(f"Tool results: ask__echo → {marker}.")
    wait_idle(chat)
    workflow = tools(chat)
    expect(workflow.locator(".workflow-head")).to_have_text("Used 1 tool")
    workflow.locator(".workflow-head").click()
    expect(workflow.locator(".task-result")).to_have_text(marker)

    chat.reload()
    expect(card(chat).locator(".w-badge")).to_have_text("Allowed")
    expect(card(chat).locator("button.w-button")).to_have_count(0)
    expect(answers(chat)).to_have_text(f"Tool results: ask__echo → {marker}.")


def test_a_card_below_a_long_conversation_is_scrolled_into_view(chat: Page) -> None:
    """A card is taller than the distance at which the log follows its end: it must follow."""
    for _ in range(3):
        send(chat, "a long answer [words:120]")
        wait_idle(chat)
    send(chat, call("ask__echo", text=tag()))
    allow = card(chat).get_by_role("button", name="Allow")
    expect(allow).to_be_visible()
    expect(allow).to_be_in_viewport()


def test_deny_tells_the_model_and_the_card_says_denied(chat: Page) -> None:
    marker = tag()
    ask(chat, marker)
    assert click_disables_both(chat, "Deny") == [True, True]
    expect(card(chat).locator(".w-badge")).to_have_text("Denied")
    expect(answers(chat)).to_contain_text("Tool results: ask__echo → The user refused")
    wait_idle(chat)
    chat.reload()
    expect(card(chat).locator(".w-badge")).to_have_text("Denied")


def test_html_in_the_arguments_of_a_card_is_shown_as_text(chat: Page) -> None:
    asking = ask(chat, XSS)
    expect(asking.locator(".w-markdown code")).to_contain_text(XSS)
    expect(chat.locator("#log img")).to_have_count(0)
    asking.get_by_role("button", name="Deny").click()
    expect(asking.locator(".w-badge")).to_have_text("Denied")
    wait_idle(chat)
    assert chat.evaluate("window.__xss") is None


# Reasoning and usage


def test_thoughts_show_before_the_answer_and_fold_into_thought_for(chat: Page) -> None:
    send(chat, f"[reason] what is two plus two {tag()}")
    expect(answers(chat)).to_contain_text("You said: [reason] what is two")
    wait_idle(chat)
    thoughts = chat.locator(".workflow[data-kind='reasoning']")
    expect(thoughts.locator(".workflow-head")).to_have_text(r"Thought for 1 s")
    expect(thoughts).not_to_have_attribute("open", "")
    thoughts.locator(".workflow-head").click()
    expect(thoughts.locator(".thought-text").first).to_contain_text(
        "Weighing what was asked first."
    )
    expect(answers(chat)).not_to_contain_text("Weighing")
    order = chat.locator("#log > *").evaluate_all(
        "(els) => els.map((el) => el.dataset.kind || el.className)"
    )
    assert order.index("reasoning") < order.index("message assistant")


def test_each_answer_shows_its_tokens_and_the_chat_its_total(chat: Page) -> None:
    send(chat, f"{call('t__add', a=1, b=2)} {tag()}")
    wait_idle(chat)
    usage = chat.locator(".message.assistant .message-usage")
    expect(usage).to_have_text(
        re.compile(r"^[\d,]+ in \([\d,]+ cached\) · [\d,]+ out · 2 requests$")
    )
    total = chat.locator("#usage-total")
    expect(total).to_be_visible()
    expect(total).to_have_text(re.compile(r"^Chat: [\d,]+ in"))

    send(chat, "and again")
    expect(chat.locator(".message.assistant .message-usage")).to_have_count(2)
    chat.reload()
    expect(chat.locator(".message.assistant .message-usage")).to_have_count(2)
    expect(total).to_have_text(re.compile(r"^Chat: [\d,]+ in .* · 3 requests$"))

    chat.locator("#new-chat").click()
    expect(total).to_be_hidden()


# Notices


def test_a_tool_server_that_cannot_start_is_a_notice_that_can_be_dismissed(
    tmp_path: Path, upstream: FakeUpstream, browser: Browser
) -> None:
    write_mcp_json(tmp_path / "mcp.json", {"gone": {"command": "no-such-mcp-server-xyz"}})
    desk = start_desk(tmp_path, upstream)
    session = open_session(browser, desk)
    try:
        page = session.page
        expect(page.locator("#message")).to_be_visible()
        send(page, "hello there")
        notice = page.locator(".thread-notice")
        expect(notice).to_contain_text("“gone”")
        expect(notice).to_contain_text("'no-such-mcp-server-xyz' was not found")
        expect(page.locator(".message.assistant")).to_contain_text("You said: hello there")
        notice.get_by_role("button", name="Dismiss").click()
        expect(notice).to_have_count(0)
    finally:
        session.context.close()
        desk.stop()
