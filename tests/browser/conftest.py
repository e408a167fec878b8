from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.servers import PYTHON, database_url_of_tests, free_port, serve

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Flags for a sandboxed CI machine without network or GPU (see the env notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# there unless told it is safe, which it is: the test thread never shares a connection.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fast_passwords_and_clean_cache() -> None:
    """Overrides the suite's fast hasher: the server processes check passwords with the real one."""
    from django.core.cache import cache

    cache.clear()


# Module scope, not session: while Playwright runs, its event loop occupies the test thread, and
# tests in other modules (which use async_to_sync) must not inherit it.
@pytest.fixture(scope="module")
def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watch_csp(page: Page) -> Page:
    """Collect the page's CSP violations (Chromium reports them on the console) in
    `page.csp_violations`."""
    page.csp_violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and page.csp_violations.append(message.text)
        ),
    )
    return page


@pytest.fixture
def page(browser: Browser) -> Page:
    context = browser.new_context()
    page = watch_csp(context.new_page())
    yield page
    context.close()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker):
    """daphne serving HTTP and WebSockets on the test database, with the test Redis layer."""
    port = free_port()
    with django_db_blocker.unblock():
        database_url = database_url_of_tests()
    command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    with serve(
        [*command, "tradedesk.asgi:application"], port=port, env={"DATABASE_URL": database_url}
    ) as server:
        yield server.base_url


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def wait_for_live_socket(page: Page) -> None:
    page.wait_for_selector("#live-indicator[data-state=open]", timeout=10_000)


def as_worker(function, /, *args, **kwargs):
    """Run a service as a Celery worker would: in its own thread, outside Playwright's loop.

    (Playwright's sync API keeps an event loop running in the test thread, where
    `async_to_sync` — used by every broadcast — refuses to run.)
    """
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def call():
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=30)
