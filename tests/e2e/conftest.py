"""The browser fixtures, shared by the chat page's test modules.

A session holds one Playwright (its sync API runs one event loop), so ``browser`` must be one
fixture for the whole session, not a copy imported into each module.
"""

from tests.support.browser import browser, open_page

__all__ = ["browser", "open_page"]
