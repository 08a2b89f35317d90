"""Brute-force protection: lockout per email, throttling per client address."""

import re

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.urls import reverse

from clozup.models import Membership
from clozup.tenancy import org_context
from tests.conftest import PASSWORD

UNKNOWN_EMAIL = "nobody.here@example.com"


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


@pytest.fixture
def hash_count(monkeypatch):
    """How many Argon2 computations sign-in attempts cost, known email or not."""
    calls = []
    for name in ("encode", "verify"):
        original = getattr(Argon2PasswordHasher, name)

        def counted(self, *args, _original=original, **kwargs):
            calls.append(1)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Argon2PasswordHasher, name, counted)
    return calls


def attempt(client, email, password="wrong-password-123"):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def normalised(response) -> bytes:
    """The page without what differs between any two requests."""
    body = re.sub(rb'value="[A-Za-z0-9]{32,}"', b'value=""', response.content)
    return body.replace(UNKNOWN_EMAIL.encode(), b"EMAIL")


def test_an_email_is_locked_after_the_failure_limit(client, rep_a, limit):
    statuses = [attempt(client, rep_a.email).status_code for _ in range(limit)]

    response = attempt(client, rep_a.email, PASSWORD)

    assert statuses == [200] * (limit - 1) + [429]

    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert not client.get(reverse("crm:home")).wsgi_request.user.is_authenticated


def test_known_and_unknown_emails_get_identical_answers_at_equal_cost(
    client, rep_a, limit, hash_count
):
    def run(email):
        answers, costs = [], []
        for password in ["wrong-password-123"] * (limit + 1):
            before = len(hash_count)
            response = attempt(client, email, password)
            costs.append(len(hash_count) - before)
            answers.append((response.status_code, normalised(response)))
        return answers, costs

    known_answers, known_costs = run(rep_a.email)
    unknown_answers, unknown_costs = run(UNKNOWN_EMAIL)

    known_answers = [
        (status, body.replace(rep_a.email.encode(), b"EMAIL"))
        for status, body in known_answers
    ]
    assert known_answers == unknown_answers
    assert [status for status, _ in known_answers] == [200] * (limit - 1) + [429, 429]
    assert known_costs == unknown_costs == [1] * limit + [0]


def test_a_locked_email_does_not_lock_another(client, rep_a, admin_a, limit):
    for _ in range(limit):
        attempt(client, rep_a.email)

    response = attempt(client, admin_a.email, PASSWORD)

    assert response.status_code == 302


def test_an_admin_lifts_a_members_lockout(client, rep_a, admin_a, org_a, limit):
    for _ in range(limit):
        attempt(client, rep_a.email)
    with org_context(org_a):
        membership = Membership.objects.get(user=rep_a)
    admin_client = client.__class__()
    admin_client.force_login(admin_a)

    admin_client.post(
        reverse("admin:clozup_membership_changelist"),
        {"action": "lift_sign_in_lockout", "_selected_action": [membership.pk]},
    )

    assert attempt(client, rep_a.email, PASSWORD).status_code == 302


def test_failures_from_one_address_are_throttled_whatever_header_it_sends(
    client, rep_a, admin_a, settings
):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "2/900s/ip"}
    for n, email in enumerate([rep_a.email, admin_a.email]):
        client.post(
            reverse("account_login"),
            {"login": email, "password": "wrong-password-123"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    response = client.post(
        reverse("account_login"),
        {"login": UNKNOWN_EMAIL, "password": "wrong-password-123"},
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )

    assert b"Too many failed login attempts" in response.content


def test_behind_a_trusted_proxy_each_client_address_counts_apart(
    client, rep_a, admin_a, settings
):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "2/900s/ip"}
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    for n in range(2):
        client.post(
            reverse("account_login"),
            {"login": rep_a.email, "password": "wrong-password-123"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    response = client.post(
        reverse("account_login"),
        {"login": UNKNOWN_EMAIL, "password": "wrong-password-123"},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )

    assert b"Too many failed login attempts" not in response.content
