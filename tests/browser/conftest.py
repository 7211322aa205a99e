"""Real-browser tests: Debian's Chromium driven by Playwright, the app served
on loopback from a thread of the test process."""
import functools
import os
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Locator, expect
from werkzeug.serving import make_server

from app import create_app

# Screenshots the tests take for people to look at (not compared by the tests).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("TAVLA_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session; missing it fails under CI, else skips."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (the README's test command installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app_of_live_server(database_url):
    """The app the live server serves (tests may change its settings before the page opens)."""
    return create_app({"DATABASE_URL": database_url, "SECRET_KEY": "browser-tests",
                       "TESTING": True})


@pytest.fixture
def live_server(app_of_live_server):
    """The app on a free loopback port; yields its base URL."""
    app = app_of_live_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    app.extensions["feed"].close()  # end the open event streams
    server.shutdown()
    thread.join(timeout=5)
    # server_close waits for the request threads (the event streams end
    # within a poll), so none of them still uses the database when the next
    # test empties it; the wait is bounded in case a request hangs.
    closing = threading.Thread(target=server.server_close, daemon=True)
    closing.start()
    closing.join(timeout=10)
    assert not closing.is_alive(), "a request of the test server did not end"


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


# What a test does to an element, as a person would with mouse or keys.
ACTIONS = ("check", "clear", "click", "dblclick", "drag_to", "fill", "focus", "hover", "press",
           "press_sequentially", "select_option", "set_checked", "set_input_files", "tap",
           "type", "uncheck")


def scripts_ready(page):
    """Wait until the page's deferred scripts (htmx, static/app.js) have taken it in:
    until then a page is painted but a select's change or a button's hx-post does
    nothing, and a test acting that early loses its step (a person is not that
    quick). static/app.js marks <html data-ready>; pages without it are not waited for."""
    expect(page.locator("html:not([data-ready]):has(script[src*='/app.js'])")) \
        .to_have_count(0, timeout=10_000)


def after_scripts(action):
    @functools.wraps(action)
    def act(locator, *args, **kwargs):
        scripts_ready(locator.page)
        return action(locator, *args, **kwargs)
    return act


@pytest.fixture(autouse=True)
def act_on_ready_pages(monkeypatch):
    """Every element action first waits for scripts_ready, after a link, a
    redirect or a reload as much as after page.goto."""
    for name in ACTIONS:
        monkeypatch.setattr(Locator, name, after_scripts(getattr(Locator, name)))


def sortables_ready(page):
    """Wait until static/app.js has made every reorderable list and board column
    sortable: its scripts are deferred, so rows can show before a drag would take."""
    expect(page.locator("[data-board-column]:not([data-sortable-ready]),"
                        " [data-sortable-url]:not([data-sortable-ready])")).to_have_count(0)


def htmx_settled(page):
    """Wait until htmx has finished its requests, swaps and settling.

    A locator, not wait_for_function: that one evaluates its predicate as a
    string inside the page, which the Content-Security-Policy forbids.
    """
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")) \
        .to_have_count(0)
