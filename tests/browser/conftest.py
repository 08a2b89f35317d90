"""Browser fixtures: a live server thread and headless Chromium through Playwright.

Reusable by any app's browser tests. The server runs in this process on a
free port against the committed database (`committed_db`), and answers with
the strict Content-Security-Policy the product ships, so a page that needs
inline code fails here. Screenshots go to docs/screenshots/.
"""

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def _with_strict_csp(application):
    def app(environ, start_response):
        def start(status, headers, exc_info=None):
            headers = [h for h in headers if h[0].lower() != "content-security-policy"]
            headers.append(("Content-Security-Policy", STRICT_CSP))
            return start_response(status, headers, exc_info)

        return application(environ, start)

    return app


@pytest.fixture
def live_url(committed_db, settings):
    """The base URL of a server thread serving the app on a free port."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    server = ThreadedWSGIServer(
        ("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False
    )
    server.set_app(_with_strict_csp(WSGIHandler()))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def browser(monkeypatch):
    """Chromium for one test.

    Playwright's sync API keeps an event loop on this thread while it runs;
    the ORM calls a test makes between browser steps are still plain
    synchronous code, so Django's async guard is lifted for this test only,
    and the loop is gone before the next test starts.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "browser tests need Debian's chromium package (make test installs it)"
        )
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab; fails the test on any console error (CSP included)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    tab.set_default_timeout(15000)
    errors = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    yield tab
    context.close()
    assert errors == [], errors


def sign_in(page, base_url: str, email: str, password: str) -> None:
    """Through the real sign-in form, as a person would."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/")


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
