"""The browser flows' fixtures: Debian's Chromium, the real app on a real port, and a watch
on the Content-Security-Policy: a flow that triggers a violation fails."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
)

from meetings.core.app import create_app
from meetings.core.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: Reports every violation of the page's policy (in any frame that runs script) to the test.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolation(`${event.violatedDirective} ${event.blockedURI} at ${event.documentURI}`);
});
"""


class CspWatch:
    """Every CSP violation seen in the browser's contexts: the console's report of a blocked
    script, style or frame, and the securitypolicyviolation events of the pages."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def event(self, _source: Any, text: str) -> None:
        self.violations.append(text)

    async def watch(self, context: BrowserContext) -> BrowserContext:
        context.on("console", self.console)
        await context.expose_binding("cspViolation", self.event)
        await context.add_init_script(REPORT_VIOLATIONS)
        return context


def _watched(browser: Browser, csp: CspWatch) -> Browser:
    """The browser with every new context and page under the watch (the flows open both)."""
    new_context = browser.new_context

    async def watched_context(**options: Any) -> BrowserContext:
        return await csp.watch(await new_context(**options))

    async def watched_page(**options: Any) -> Page:
        return await (await watched_context(**options)).new_page()

    browser.new_context = watched_context  # type: ignore[method-assign]
    browser.new_page = watched_page  # type: ignore[method-assign]
    return browser


@pytest.fixture
def csp() -> CspWatch:
    return CspWatch()


@pytest.fixture
async def browser(csp: CspWatch) -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield _watched(launched, csp)
        await launched.close()
    assert csp.violations == [], "the Content-Security-Policy blocked something"


@pytest.fixture
async def base_url(settings: Settings) -> AsyncIterator[str]:
    """The real app on a real port of the loopback interface."""
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()
