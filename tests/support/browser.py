"""Headless Chromium (Debian's, driven by Playwright) signed in to a desk server.

Sign-in goes the way a user's does: ``chatkit-desk open --print-url`` mints a one-time link and
the browser opens it, which sets the HttpOnly session cookie. The ChatKit.js CDN is always
routed: refused by default (so the built-in client is what runs, online or not), or answered
with a fake component by the tests that want one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)

from tests.support.desk_process import DeskProcess, run_cli

CHATKIT_JS_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A stand-in for ChatKit.js: defines <openai-chatkit> and records what it was given.
FAKE_CHATKIT_JS = """
window.__chatkitOptions = [];
customElements.define("openai-chatkit", class extends HTMLElement {
  setOptions(options) {
    window.__chatkitOptions.push(JSON.parse(JSON.stringify(options)));
    this.textContent = "fake ChatKit.js component";
  }
});
"""


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


PAGE_DEADLINE_MS = 30_000
"""How long a page action or an ``expect`` may wait on a busy machine (Playwright's own
``expect`` default is 5 s)."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=PAGE_DEADLINE_MS)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is needed for the chat page tests (looked for {CHROMIUM})")
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def sign_in_link(desk: DeskProcess) -> str:
    result = run_cli(["open", "--print-url"], desk.env)
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith(f"{desk.url}/login?token="), link
    return link


@dataclass
class CdnRoute:
    """What the page gets when it asks for ChatKit.js, and how often it asked."""

    mode: str = "fail"  # "fail" | "fake" | "hang"
    requests: list[str] = field(default_factory=list)
    _hanging: list[Route] = field(default_factory=list)

    def handle(self, route: Route) -> None:
        self.requests.append(route.request.url)
        if self.mode == "fake":
            route.fulfill(
                status=200,
                content_type="text/javascript",
                body=FAKE_CHATKIT_JS,
                headers={"Access-Control-Allow-Origin": "*"},
            )
        elif self.mode == "hang":
            self._hanging.append(route)  # never answered
        else:
            route.abort("internetdisconnected")


@dataclass
class Session:
    desk: DeskProcess
    context: BrowserContext
    page: Page
    cdn: CdnRoute


def open_session(
    browser: Browser,
    desk: DeskProcess,
    *,
    cdn: str = "fail",
    color_scheme: str = "light",
    viewport: dict[str, int] | None = None,
    storage_state: dict | None = None,
    before_goto: Callable[[BrowserContext], None] | None = None,
) -> Session:
    context = browser.new_context(
        color_scheme=color_scheme,  # type: ignore[arg-type]
        viewport=viewport or {"width": 1100, "height": 760},
        storage_state=storage_state,  # type: ignore[arg-type]
    )
    context.set_default_timeout(PAGE_DEADLINE_MS)
    route = CdnRoute(cdn)
    context.route(CHATKIT_JS_URL, route.handle)
    # Nothing but the desk server: any other outside request fails at once.
    context.route(
        lambda url: not url.startswith(desk.url) and not url.startswith(CHATKIT_JS_URL),
        lambda r: r.abort("internetdisconnected"),
    )
    if before_goto is not None:
        before_goto(context)
    page = context.new_page()
    if storage_state is None:
        page.goto(sign_in_link(desk))
    else:
        page.goto(desk.url + "/")
    return Session(desk, context, page, route)


def signed_in_state(browser: Browser, desk: DeskProcess) -> dict[str, Any]:
    """A browser session (the cookie) signed in once through a one-time link, for a module's
    pages to reuse: each link works once, and signing in per test would cost seconds."""
    session = open_session(browser, desk)
    expect(session.page.locator("#message")).to_be_visible()
    state = session.context.storage_state()
    session.context.close()
    return state  # type: ignore[return-value]


def open_chat(open_page: Callable[..., Session], desk: DeskProcess, state: dict[str, Any]) -> Page:
    """The chat page of ``desk`` in a new context signed in with ``state``, ready for input."""
    page = open_page(desk, storage_state=state).page
    expect(page.locator("#message")).to_be_visible()
    return page


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Session]]:
    """Open signed-in pages (new browser contexts); all are closed after the test."""
    sessions: list[Session] = []

    def opener(desk: DeskProcess, **options: object) -> Session:
        session = open_session(browser, desk, **options)  # type: ignore[arg-type]
        sessions.append(session)
        return session

    yield opener
    for session in sessions:
        session.context.close()
