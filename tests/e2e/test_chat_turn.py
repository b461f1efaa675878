"""The chat page's pure modules, run in the real browser: the helpers of ``format.js``.

Each test imports the module from the server (``/static/…``) inside the signed-in page and calls
it there, the way ``test_chat_page.py`` checks ``renderMarkdown``; no model stream is involved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import open_session
from tests.support.desk_process import DeskProcess


@pytest.fixture(scope="module")
def page(browser: Browser, openai_desk: DeskProcess) -> Iterator[Page]:
    """One signed-in page for the whole module: the tests only import modules and call them."""
    session = open_session(browser, openai_desk)
    expect(session.page.locator("#message")).to_be_visible()
    yield session.page
    session.context.close()


def call(page: Page, module: str, function: str, *args: Any) -> Any:
    """``function(*args)`` of ``/static/<module>`` as the page runs it."""
    return page.evaluate(
        """async ([module, name, args]) => (await import(`/static/${module}`))[name](...args)""",
        [module, function, list(args)],
    )


# format.js


def test_a_date_today_shows_its_time_and_another_day_its_date(page: Page) -> None:
    shown = page.evaluate(
        """async () => {
            const { shortDate } = await import('/static/format.js');
            const now = new Date(2026, 2, 14, 18, 0);
            return [
              shortDate(new Date(2026, 2, 14, 9, 7), now),
              shortDate(new Date(2026, 2, 3, 9, 7), now),
              shortDate(new Date(2023, 11, 25, 9, 7), now),
            ];
        }"""
    )
    today, this_year, other_year = shown
    assert "07" in today and "14" not in today, today
    assert "3" in this_year and "07" not in this_year and "2026" not in this_year, this_year
    assert "25" in other_year and "2023" in other_year, other_year


def test_a_server_time_without_a_zone_is_read_as_local_time(page: Page) -> None:
    parts = page.evaluate(
        """async () => {
            const { parseDate } = await import('/static/format.js');
            const date = parseDate('2026-12-03T08:05:43.887825');
            return [date.getFullYear(), date.getMonth(), date.getDate(), date.getHours()];
        }"""
    )
    assert parts == [2026, 11, 3, 8]


@pytest.mark.parametrize("value", [None, "", "yesterday-ish"])
def test_a_missing_or_unreadable_time_is_no_date(page: Page, value: str | None) -> None:
    assert call(page, "format.js", "parseDate", value) is None


def test_an_error_event_without_a_message_is_explained_by_its_code(page: Page) -> None:
    assert (
        call(page, "format.js", "errorText", "stream.error")
        == "The server could not finish the answer. Try again."
    )
    assert call(page, "format.js", "errorText", "quota") == "Something went wrong (quota)."
    assert call(page, "format.js", "errorText", None) == "Something went wrong (unknown error)."


@pytest.mark.parametrize(
    ("hash", "thread_id"),
    [
        ("#thr_0a1b2c", "thr_0a1b2c"),
        ("#thr%5F0a1b2c", "thr_0a1b2c"),
        ("", None),
        ("#", None),
        ("#../etc", None),
        ("#thr 1", None),
        ("#%E0%A4%A", None),  # a malformed escape is no thread id, not an exception
        ("#" + "x" * 201, None),
    ],
)
def test_only_a_thread_id_is_taken_from_the_address(
    page: Page, hash: str, thread_id: str | None
) -> None:
    assert call(page, "format.js", "threadFromHash", hash) == thread_id
