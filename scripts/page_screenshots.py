"""Screenshots of the built-in chat page, light and dark, for the README.

``.venv/bin/python scripts/page_screenshots.py`` starts the real server against the fake
upstream (with canned answers instead of its echo), has a short conversation in headless
Chromium, and writes docs/screenshots/chat-light.png and chat-dark.png.
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


def canned_reply(pairs: list[tuple[str, str]], instructions: str) -> str:
    last = next((text for role, text in reversed(pairs) if role == "user"), "")
    return ANSWERS.get(last, "Sure.")


def main() -> None:
    fake_upstream._reply_for = canned_reply  # the fake runs in this process
    upstream = fake_upstream.FakeUpstream().start()
    work = Path(tempfile.mkdtemp(prefix="chatkit-desk-shots-"))
    env = base_env(work / "data", upstream.base_url, work / "keyring.json")
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
            browser.close()
    finally:
        desk.stop()
        upstream.stop()


if __name__ == "__main__":
    main()
