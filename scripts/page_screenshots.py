"""Screenshots of the built-in chat page, light and dark, and of a chat using tools, for the README.

``.venv/bin/python scripts/page_screenshots.py`` starts the real server against the fake
upstream (with canned answers and tool calls instead of its echo) and the tests' MCP server,
has short conversations in headless Chromium, and writes docs/screenshots/chat-light.png,
chat-dark.png and chat-tools.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.support import fake_upstream  # noqa: E402
from tests.support.browser import CHATKIT_JS_URL, launch, open_session  # noqa: E402
from tests.support.desk_process import DeskProcess, base_env, make_token  # noqa: E402
from tests.support.fake_turns import Call, Request  # noqa: E402
from tests.support.mcp_servers import stdio_entry, write_mcp_json  # noqa: E402
from tests.support.sse_client import DeskClient  # noqa: E402

ANSWERS = {
    "How do I read a file line by line in Python?": (
        "Open it in a `with` block and loop over it: the file object yields one line at a "
        "time, so even **large files** stay cheap.\n\n"
        "```python\n"
        'with open("notes.txt", encoding="utf-8") as f:\n'
        "    for number, line in enumerate(f, start=1):\n"
        "        print(number, line.rstrip())\n"
        "```\n\n"
        "- `rstrip()` drops the trailing newline\n"
        '- `encoding="utf-8"` avoids surprises on Windows'
    ),
    "And how do I count the lines?": (
        "`sum(1 for _ in f)` inside the same `with` block counts them without reading the "
        "whole file into memory."
    ),
    "Plan a weekend in Lisbon": "Day one: Alfama and the castle; day two: Belém and LX Factory.",
    "A regex for ISO dates": r"`^\d{4}-\d{2}-\d{2}$` matches `2026-11-26`.",
}


TOOL_STEPS = {  # a question → the calls the model makes, step by step
    "What's in today's notes?": [[Call("notes__multiline", '{"lines": 3}')]],
    "What is 1,234 + 4,321?": [[Call("calculator__add", '{"a": 1234, "b": 4321}')]],
}
TOOL_ANSWERS = {
    "What's in today's notes?": (
        "Today's notes have **three entries**, all about the same draft: its first line, a "
        "reminder to check it, and a last line to finish it."
    ),
}


def canned_reply(request: Request, instructions: str) -> str:
    return TOOL_ANSWERS.get(request.last_user) or ANSWERS.get(request.last_user, "Sure.")


def canned_calls(request: Request) -> list[Call]:
    steps = TOOL_STEPS.get(request.last_user, [])
    return steps[0] if steps and not request.outputs else []


def main() -> None:
    fake_upstream.answer_text = canned_reply  # the fake runs in this process
    fake_upstream.next_calls = canned_calls
    upstream = fake_upstream.FakeUpstream().start()
    work = Path(tempfile.mkdtemp(prefix="chatkit-desk-shots-"))
    env = base_env(work / "data", upstream.base_url, work / "keyring.json")
    servers = {
        "notes": stdio_entry(work / "notes", requireApproval="never"),
        "calculator": stdio_entry(work / "calculator"),
    }
    env["CHATKIT_DESK_MCP_CONFIG"] = str(write_mcp_json(work / "mcp.json", servers))
    desk = DeskProcess(env, work / "server.log").start()
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    try:
        api = DeskClient(desk.url, make_token("local"))
        api.create_thread("A regex for ISO dates")
        api.create_thread("Plan a weekend in Lisbon")
        api.close()
        with sync_playwright() as playwright:
            browser = launch(playwright)
            session = open_session(browser, desk, viewport={"width": 1100, "height": 720})
            page = session.page
            for question in ANSWERS:
                if question.startswith(("Plan", "A regex")):
                    continue
                page.locator("#message").fill(question)
                page.locator("#message").press("Enter")
                expect(page.locator("#send")).to_be_visible()
                expect(page.locator(".message.assistant.streaming")).to_have_count(0)
            state = session.context.storage_state()
            url = page.url
            session.context.close()
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    color_scheme=scheme,
                    reduced_motion="reduce",
                    viewport={"width": 1100, "height": 720},
                    storage_state=state,
                )
                context.route(CHATKIT_JS_URL, lambda route: route.abort())  # as offline
                shot = context.new_page()
                shot.goto(url)
                expect(shot.locator(".message.assistant")).to_have_count(2)
                shot.locator("#message").blur()
                shot.screenshot(path=str(out / f"chat-{scheme}.png"))
                context.close()
                print(f"wrote {out / f'chat-{scheme}.png'}")
            tools_screenshot(browser, desk, out / "chat-tools.png")
            browser.close()
    finally:
        desk.stop()
        upstream.stop()


def tools_screenshot(browser: object, desk: DeskProcess, path: Path) -> None:
    """A tool call that ran (expanded), then one waiting for approval."""
    session = open_session(browser, desk, viewport={"width": 1100, "height": 860})
    page = session.page
    page.locator("#new-chat").click()
    for question in TOOL_STEPS:
        page.locator("#message").fill(question)
        page.locator("#message").press("Enter")
        expect(page.locator("#send")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Allow")).to_be_visible(timeout=30_000)
    page.locator("details.workflow summary").first.click()  # open "Used 1 tool"
    page.get_by_role("button", name="Deny").scroll_into_view_if_needed()
    page.locator("#message").blur()
    page.screenshot(path=str(path))
    session.context.close()
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
