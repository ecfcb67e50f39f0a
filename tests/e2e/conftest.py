"""A live server in a thread and Debian's chromium driven by Playwright."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import CHROMIUM


@pytest.fixture
def live_server(app):
    """The real app on a free loopback port, serving from a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """A page in a fresh browser context (its own cookies), in English."""
    contexts = []

    def open_page():
        context = browser.new_context(locale="en-US")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def artifacts(request):
    """Where a browser test saves its screenshots: tests/e2e/artifacts/<test>/ (ignored
    by git), to look at what each step showed."""
    from pathlib import Path

    folder = Path(__file__).parent / "artifacts" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
