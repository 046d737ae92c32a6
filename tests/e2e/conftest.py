"""Headless Debian Chromium driven by Playwright (never a browser download), beside Django's live server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts"
# The machine has no network: without these Chromium keeps trying to reach Google's hosts.
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


@pytest.fixture(autouse=True)
def _allow_orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API and Django's live server share this process; Django's async-safety check
    # would otherwise refuse ORM calls made while Playwright's loop is running.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def logged_in_page(live_server: Any) -> Iterator[Callable[..., Any]]:
    """`open(path, username, password, height=900, **options)`: a page that logged in on the way to `path`.

    `options` go to Playwright's `new_page` (a phone: `viewport=..., has_touch=True, is_mobile=True`).
    """
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)

        def open_page(path: str, username: str, password: str, height: int = 900, **options: Any) -> Any:
            page = browser.new_page(**{"viewport": {"width": 1280, "height": height}, **options})
            page.set_default_timeout(15_000)
            page.goto(f"{live_server.url}{path}")
            page.fill("#id_username", username)
            page.fill("#id_password", password)
            page.click("button[type=submit]")
            return page

        try:
            yield open_page
        finally:
            browser.close()
