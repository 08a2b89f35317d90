"""Two-factor authentication: TOTP, recovery codes, and an admin requiring it."""

import base64
import hashlib
import hmac
import re
import struct
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clozup.models import Organization
from clozup.signin.models import SecurityPolicy
from clozup.tenancy import org_context
from tests.signin.conftest import sign_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238 with SHA-1, 30 seconds, 6 digits: what an authenticator app shows."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def turn_on_totp(client) -> str:
    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": totp(secret)})
    assert response.status_code == 302, response.content
    return secret


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def require_mfa(organization, *, plan=Organization.Plan.ENTERPRISE):
    Organization.objects.filter(pk=organization.pk).update(plan=plan)
    with org_context(organization):
        SecurityPolicy.objects.update_or_create(
            organization=organization, defaults={"require_mfa": True}
        )


def test_a_member_turns_on_totp_and_then_needs_a_code_to_sign_in(rep_a, clock):
    browser = Client()
    sign_in(browser, rep_a)
    secret = turn_on_totp(browser)
    clock.shift(timedelta(seconds=60))
    stored = Authenticator.objects.get(user=rep_a, type="totp").data["secret"]
    assert secret not in stored

    other = Client()
    step = sign_in(other, rep_a)
    assert step.request["PATH_INFO"] == reverse("mfa_authenticate")
    assert not step.context["user"].is_authenticated
    wrong = other.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert b"Incorrect code" in wrong.content
    signed_in = other.post(
        reverse("mfa_authenticate"), {"code": totp(secret)}, follow=True
    )

    assert signed_in.context["user"] == rep_a


def test_a_recovery_code_signs_in_once(rep_a, clock):
    browser = Client()
    sign_in(browser, rep_a)
    turn_on_totp(browser)
    page = browser.get(reverse("mfa_view_recovery_codes"))
    code = page.context["unused_codes"][0]

    first, second = Client(), Client()
    sign_in(first, rep_a)
    assert first.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    sign_in(second, rep_a)
    reused = second.post(reverse("mfa_authenticate"), {"code": code})

    assert reused.status_code == 200
    assert not reused.context["user"].is_authenticated


# Pages that exist to sign in, set up a second factor or leave: the only ones
# a member who must set up MFA may reach. Everything else holds data.
SIGN_IN_PAGE = re.compile(
    r"^(account_|mfa_|socialaccount_|saml_|openid_connect_|google_|microsoft_"
    r"|usersessions_|signin:|healthz$|readyz$|switch-organization$)"
)


def walk(patterns=None, prefix="", namespace=""):
    """Every URL of the site: (sample path, name)."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = _sample(str(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}{entry.namespace}:"
            yield from walk(entry.url_patterns, prefix + route, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield "/" + prefix + route, name


def _sample(pattern: str) -> str:
    # Regex groups: the first alternative of a list, else a number.
    pattern = re.sub(r"\(\?P<\w+>([\w-]+)(?:\|[^)]*)?\)", r"\1", pattern)
    pattern = re.sub(r"\(\?P<\w+>[^)]*\)", "1", pattern)
    pattern = re.sub(r"<int:\w+>", "1", pattern)
    pattern = re.sub(r"<uuid:\w+>", "00000000-0000-4000-8000-000000000001", pattern)
    pattern = re.sub(r"<(?:\w+:)?\w+>", "x", pattern)
    return pattern.replace("^", "").replace("$", "").replace("\\", "")


def data_urls():
    return sorted(
        {path for path, name in walk() if not SIGN_IN_PAGE.match(name or "-")}
    )


def test_requiring_mfa_keeps_a_member_without_it_from_every_data_url(admin_a, org_a):
    require_mfa(org_a)
    browser = Client()
    browser.force_login(admin_a)
    mfa_page = reverse("signin:mfa-required")
    urls = data_urls()
    assert "/" in urls and "/leads/1/" in urls and "/admin/" in urls

    reached = {}
    for url in urls:
        for method in (browser.get, browser.post):
            response = method(url)
            if response.status_code != 302 or response.url != mfa_page:
                reached[f"{method.__name__} {url}"] = response.status_code

    assert reached == {}
    assert browser.get(mfa_page).status_code == 200
    assert browser.get(reverse("mfa_activate_totp")).status_code == 200


@pytest.mark.parametrize("plan", [Organization.Plan.FREE, Organization.Plan.PRO])
def test_requiring_mfa_does_nothing_below_the_enterprise_plan(rep_a, org_a, plan):
    require_mfa(org_a, plan=plan)
    browser = Client()
    browser.force_login(rep_a)

    assert browser.get("/").status_code == 200


def test_a_member_with_totp_reaches_the_data_of_an_organization_requiring_mfa(
    rep_a, org_a, clock
):
    require_mfa(org_a)
    browser = Client()
    sign_in(browser, rep_a)
    assert browser.get("/").url == reverse("signin:mfa-required")

    turn_on_totp(browser)

    assert browser.get("/").status_code == 200


def test_a_member_keeps_their_last_authenticator_while_mfa_is_required(
    rep_a, org_a, clock
):
    browser = Client()
    sign_in(browser, rep_a)
    turn_on_totp(browser)
    require_mfa(org_a)

    response = browser.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 200
    assert Authenticator.objects.filter(user=rep_a, type="totp").exists()


def test_another_organization_requiring_mfa_does_not_block_this_one(
    rep_a, org_a, org_b, make_member
):
    require_mfa(org_b)
    browser = Client()
    browser.force_login(rep_a)

    assert browser.get("/").status_code == 200
