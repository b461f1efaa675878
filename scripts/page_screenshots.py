"""Screenshots of the built-in chat page, light and dark, of a chat using tools and of one with
files attached, for the README.

``.venv/bin/python scripts/page_screenshots.py`` starts the real server against the fake
upstream (with canned answers and tool calls instead of its echo) and the tests' MCP server,
has short conversations in headless Chromium, and writes docs/screenshots/chat-light.png,
chat-dark.png, chat-tools.png and chat-attachments.png.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.support import fake_upstream  # noqa: E402
from tests.support.attachments import pdf  # noqa: E402
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


ATTACH_QUESTION = "Does the chart match the totals in the report?"
ATTACH_ANSWERS = {
    ATTACH_QUESTION: (
        "Mostly. The chart shows **Q3 as the best quarter** (about 42k), which matches the "
        "report's table on page 2. The report puts Q2 at 31k, though, while the bar is closer "
        "to 28k — worth checking which one is current."
    ),
}


def canned_reply(request: Request, instructions: str) -> str:
    last = request.last_user
    return TOOL_ANSWERS.get(last) or ATTACH_ANSWERS.get(last) or ANSWERS.get(last, "Sure.")


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
            attachments_screenshot(browser, desk, out / "chat-attachments.png")
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


def bar_chart(values: list[int], color: tuple[int, int, int]) -> bytes:
    """A small bar chart as a PNG: something that looks like a screenshot someone would send."""
    width, height = 480, 300
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.line([(40, 20), (40, 260), (460, 260)], fill=(120, 120, 120), width=2)
    step = 420 // len(values)
    for index, value in enumerate(values):
        left = 40 + step * index + 18
        draw.rectangle([left, 260 - value * 5, left + step - 36, 259], fill=color)
        draw.text((left + 10, 270), f"Q{index + 1}", fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def attachments_screenshot(browser: object, desk: DeskProcess, path: Path) -> None:
    """A message that carried a chart and a PDF, the answer, and a file waiting to be sent."""
    session = open_session(browser, desk, viewport={"width": 1100, "height": 760})
    page = session.page
    page.locator("#new-chat").click()
    with page.expect_file_chooser() as chooser:
        page.locator("#attach").click()
    chooser.value.set_files(
        [
            {
                "name": "sales-q1-q4.png",
                "mimeType": "image/png",
                "buffer": bar_chart([22, 28, 42, 35], (11, 107, 203)),
            },
            {"name": "q3-report.pdf", "mimeType": "application/pdf", "buffer": pdf(184_000)},
        ]
    )
    expect(page.locator("#attachment-tray .attachment-chip.done")).to_have_count(2)
    page.locator("#message").fill(ATTACH_QUESTION)
    page.locator("#message").press("Enter")
    expect(page.locator("#send")).to_be_visible(timeout=30_000)
    expect(page.locator(".message.assistant.streaming")).to_have_count(0)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.attachment-preview')].every("
        "(img) => img.complete && img.naturalWidth > 0)"
    )
    with page.expect_file_chooser() as chooser:
        page.locator("#attach").click()
    chooser.value.set_files(
        [
            {
                "name": "margins.png",
                "mimeType": "image/png",
                "buffer": bar_chart([12, 15, 19, 17], (26, 127, 55)),
            }
        ]
    )
    expect(page.locator("#attachment-tray .attachment-chip.done")).to_have_count(1)
    page.locator("#message").fill("And the margins?")
    page.locator("#message").blur()
    page.mouse.move(700, 500)  # no hover on the paperclip
    page.screenshot(path=str(path))
    session.context.close()
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
