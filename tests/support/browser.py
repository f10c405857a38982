"""The machine's Chromium, driven by Playwright, for the browser tests.

Playwright never downloads a browser here: it launches /usr/bin/chromium with the arguments below.
Every page records the requests it makes, so tests can assert that nothing leaves the site.

Use the browser for one module at a time (a module-scoped fixture): Playwright's synchronous API keeps
an event loop registered in the thread while it is open, which Django's ORM (in other test modules)
takes for async code.
"""

from __future__ import annotations

from contextlib import contextmanager

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium(executable_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Recorder:
    """What a page asked for and what went wrong on it."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.documents: list = []  # responses to navigations
        self.problems: list[str] = []  # console errors (CSP violations among them) and script errors
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("response", lambda response: self.documents.append(response)
                if response.request.resource_type == "document" else None)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(str(error)))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if url.endswith("/favicon.ico"):
            return  # the browser asks for an icon by itself; the site has none to give
        self.problems.append(f"{message.text} ({url})" if url else message.text)

    def foreign_requests(self, origin: str) -> list[str]:
        return [url for url in self.requests if not (url.startswith(origin + "/") or url == origin)]


@contextmanager
def recorded_page(browser, **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page, Recorder(page)
    finally:
        context.close()


def tab_to(page, selector: str, *, limit: int = 80, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element matches ``selector``."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("(selector) => !!document.activeElement && document.activeElement.matches(selector)", selector):
            return
    focused = page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 200)")
    raise AssertionError(f"pressed {key} {limit} times without reaching {selector} (focus is on {focused})")
