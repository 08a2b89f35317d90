"""Encryption in transit: HTTPS only, strict headers, secure cookies, CSRF,
a Content-Security-Policy without unsafe-inline, and mail over TLS."""

import re
import shutil
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core import mail
from django.db import connections
from django.test import Client

from clozup.checks import check_email_transport
from tests.conftest import PASSWORD, _free_port
from tests.tls import self_signed_certificate


@pytest.fixture
def production(settings):
    """Transport settings as they are with DEBUG off (conftest relaxes them)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 63072000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    return settings


def test_a_real_response_carries_the_security_headers(client, db, production):
    response = client.get("/accounts/login/", secure=True)

    assert response.status_code == 200
    assert (
        response["Strict-Transport-Security"]
        == "max-age=63072000; includeSubDomains; preload"
    )
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_only_sign_in_pages_may_send_a_form_to_an_identity_provider(client, db, rep_a):
    sign_in = client.get("/accounts/login/")["Content-Security-Policy"]
    client.force_login(rep_a)
    app_page = client.get("/")["Content-Security-Policy"]

    assert "form-action 'self' https:" in sign_in
    assert "form-action 'self';" in app_page + ";"
    assert "https:" not in app_page.split("form-action")[1].split(";")[0]


def test_plain_http_is_redirected_to_https(client, db, production):
    response = client.get("/accounts/login/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


def test_behind_the_tls_proxy_its_header_alone_makes_a_request_secure(
    client, db, production
):
    production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    url = "/accounts/login/"
    proxied = client.get(url, headers={"X-Forwarded-Proto": "https"})
    plain = client.get(url, headers={"X-Forwarded-Proto": "http"})

    assert proxied.status_code == 200
    assert "Strict-Transport-Security" in proxied
    assert plain.status_code == 301


def test_session_and_csrf_cookies_are_secure_and_http_only(client, production, rep_a):
    client.get("/accounts/login/", secure=True)
    response = client.post(
        "/accounts/login/",
        {"login": rep_a.email, "password": PASSWORD},
        secure=True,
    )

    assert response.status_code == 302
    session = response.cookies["sessionid"]
    csrf = client.cookies["csrftoken"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"
    assert csrf["secure"] and csrf["httponly"]


def test_a_form_posted_without_its_csrf_token_is_refused(db, rep_a, org_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep_a)

    switched = client.post("/organizations/switch/", {"organization": org_a.pk})
    login = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"login": rep_a.email, "password": PASSWORD}
    )

    assert switched.status_code == 403
    assert login.status_code == 403


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_carries_inline_script_or_style():
    found = []
    for template in sorted(Path(django_settings.BASE_DIR, "templates").rglob("*")):
        if not template.is_file():
            continue
        text = template.read_text()
        for pattern, what in INLINE:
            if pattern.search(text):
                found.append(
                    f"{template.relative_to(django_settings.BASE_DIR)}: {what}"
                )

    assert found == []


@pytest.mark.browser
def test_pages_load_in_a_browser_without_a_policy_violation(
    committed_db, make_org, make_member, monkeypatch
):
    """Chromium renders the app and the Admin Panel, served by Django in-process;
    the page reports every Content-Security-Policy violation it meets."""
    from playwright.sync_api import sync_playwright

    # Playwright calls the route handler from inside its event loop, on this
    # thread; Django's guard against sync database calls there is a false
    # alarm. That context gets a connection of its own, hence committed data.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    admin = Client()
    admin.force_login(make_member(make_org(), role="admin"))
    visits = [
        (Client(), "/accounts/login/"),
        (Client(), "/accounts/signup/"),
        (Client(), "/accounts/password/reset/"),
        (admin, "/"),
        (admin, "/admin/"),
        (admin, "/admin/clozup/membership/"),
        (admin, "/admin/clozup/integrationcredential/add/"),
        (admin, "/admin/clozup/webhookendpoint/add/"),
        (admin, "/admin/audit/auditentry/"),
    ]
    current = {}

    def serve(route):
        request = route.request
        try:
            response = current["client"].generic(
                request.method,
                request.url.removeprefix("https://testserver"),
                data=request.post_data_buffer or b"",
                content_type=request.headers.get("content-type", ""),
                secure=True,
            )
            body = (
                b"".join(response.streaming_content)
                if response.streaming
                else response.content
            )
        finally:
            # Each call gets its own connection: close it, or it outlives the test.
            connections.close_all()
        route.fulfill(
            status=response.status_code, headers=dict(response.items()), body=body
        )

    violations = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
        context = browser.new_context()
        context.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation', e =>"
            " window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        context.route("https://testserver/**", serve)
        page = context.new_page()
        for visitor, path in visits:
            current["client"] = visitor
            response = page.goto(f"https://testserver{path}", wait_until="load")
            assert response.status == 200, path
            seen = page.evaluate("window.__violations")
            if seen:
                violations[path] = seen
        browser.close()

    assert violations == {}


# Mail ----------------------------------------------------------------------------


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope, session.ssl is not None))
        return "250 OK"


@pytest.fixture
def smtp_server(tmp_path, monkeypatch):
    """An SMTP server on loopback that refuses mail before STARTTLS."""
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=context,
        require_starttls=True,
    )
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    yield controller, mailbox
    controller.stop()


def test_mail_is_sent_over_tls(settings, smtp_server):
    controller, mailbox = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = True

    mail.send_mail("Your export is ready", "Hello", None, ["rep" + "@example.com"])

    ((envelope, over_tls),) = mailbox.messages
    assert over_tls
    assert envelope.rcpt_tos == ["rep" + "@example.com"]


def test_smtp_without_tls_fails_the_start_up_check_naming_the_setting(settings):
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False

    errors = check_email_transport(None)
    settings.EMAIL_USE_SSL = True

    assert [error.id for error in errors] == ["clozup.E006"]
    assert "EMAIL_URL" in errors[0].msg
    assert check_email_transport(None) == []
