"""Passkeys in a real browser: headless Chromium with a virtual authenticator.

The site runs in a live server thread under a strict Content-Security-Policy
(no inline script or style); a page that breaks it would fail here.
"""

import pytest
from allauth.mfa.models import Authenticator
from django.db import connections
from django.test.testcases import LiveServerThread

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

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
STRICT_CSP = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}


@pytest.fixture
def site(committed_db, settings, monkeypatch):
    # Each request runs in its own server thread with its own connection:
    # close it when the request ends, so none outlives the test database.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
    settings.CONTENT_SECURITY_POLICY = STRICT_CSP
    settings.MIDDLEWARE = ["csp.middleware.CSPMiddleware", *settings.MIDDLEWARE]
    server = LiveServerThread("localhost", _static_handler())
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        yield f"http://localhost:{server.port}"
    finally:
        server.terminate()


def _static_handler():
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    return StaticFilesHandler


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the
    # test's own database calls are still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
            # Connections opened while Playwright's loop runs live in its
            # context; close them before it ends, or they outlive the test.
            connections.close_all()


def open_page(browser, violations):
    context = browser.new_context()
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and violations.append(message.text)
        ),
    )
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return context, page, cdp, added["authenticatorId"]


def test_a_member_registers_a_passkey_and_signs_in_with_it_alone(
    site, browser, make_org, make_member
):
    organization = make_org()
    member = make_member(organization)
    violations = []
    context, page, cdp, authenticator_id = open_page(browser, violations)

    response = page.goto(f"{site}/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{site}/")

    page.goto(f"{site}/accounts/2fa/webauthn/add/")
    page.get_by_label("Name").fill("Laptop passkey")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    assert Authenticator.objects.filter(user=member, type="webauthn").count() == 1

    # Signed out (no cookies at all), with the same authenticator attached.
    page.context.clear_cookies()
    page.goto(f"{site}/accounts/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{site}/")

    assert member.email in page.content()
    assert violations == []
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert [c["isResidentCredential"] for c in stored["credentials"]] == [True]
    context.close()
