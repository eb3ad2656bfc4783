"""Headless Chromium driven by Playwright for Python, for the workspace's browser tests.

Uses Debian's chromium (never a browser Playwright downloads); skips with the reason when it or
Playwright is missing. .ci/run installs chromium.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = next(
    (p for p in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")) if p), None
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium browser (Playwright), shared by the session's browser tests."""
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium; or set $CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright; never `playwright install`)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium):
    """Opens pages in fresh browser contexts (own cookies: one per reviewer); collects console
    messages and page errors in page.problems; closes them after the test."""
    contexts = []

    def make():
        context = chromium.new_context()
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}"))
        page.on("pageerror", lambda e: page.problems.append(f"error: {e}"))
        return page

    yield make
    for c in contexts:
        c.close()
