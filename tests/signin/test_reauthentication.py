"""Sensitive changes ask for re-authentication once the last is minutes old."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from clozup.models import Membership
from clozup.signin.models import SecurityPolicy
from clozup.tenancy import org_context
from tests.conftest import PASSWORD
from tests.signin.conftest import sign_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rep_membership(rep_a, org_a):
    with org_context(org_a):
        return Membership.objects.get(user=rep_a)


def role_of(membership, organization) -> str:
    with org_context(organization):
        return Membership.objects.get(pk=membership.pk).role


def change_role(client, membership, role):
    url = reverse("admin:clozup_membership_change", args=[membership.pk])
    return client.post(url, {"role": role})


def test_a_role_change_right_after_signing_in_needs_nothing_more(
    admin_a, org_a, rep_membership, clock
):
    browser = Client()
    sign_in(browser, admin_a)
    clock.shift(timedelta(minutes=4))

    response = change_role(browser, rep_membership, "admin")

    assert response.status_code == 302
    assert role_of(rep_membership, org_a) == "admin"


def test_a_later_role_change_waits_for_the_password_then_goes_through(
    admin_a, org_a, rep_membership, clock
):
    browser = Client()
    sign_in(browser, admin_a)
    clock.shift(timedelta(minutes=6))

    asked = change_role(browser, rep_membership, "admin")

    assert asked.status_code == 302
    assert asked.url.startswith(reverse("account_reauthenticate"))
    assert role_of(rep_membership, org_a) == "rep"

    browser.post(asked.url, {"password": PASSWORD})

    assert role_of(rep_membership, org_a) == "admin"


def test_a_wrong_password_keeps_the_change_waiting(
    admin_a, org_a, rep_membership, clock
):
    browser = Client()
    sign_in(browser, admin_a)
    clock.shift(timedelta(minutes=6))
    asked = change_role(browser, rep_membership, "admin")

    browser.post(asked.url, {"password": "not-my-password-at-all"})

    assert role_of(rep_membership, org_a) == "rep"


def test_security_settings_ask_for_re_authentication_too(admin_a, org_a, clock):
    browser = Client()
    sign_in(browser, admin_a)
    page = browser.get(reverse("admin:signin_securitypolicy_changelist"), follow=True)
    assert page.status_code == 200
    clock.shift(timedelta(minutes=6))

    asked = browser.post(
        page.request["PATH_INFO"], {"idle_timeout_minutes": "15"}, follow=False
    )

    assert asked.url.startswith(reverse("account_reauthenticate"))
    with org_context(org_a):
        assert (
            SecurityPolicy.objects.get(organization=org_a).idle_timeout_minutes is None
        )


def test_reading_admin_pages_needs_no_re_authentication(admin_a, clock):
    browser = Client()
    sign_in(browser, admin_a)
    clock.shift(timedelta(minutes=30))

    response = browser.get(reverse("admin:clozup_membership_changelist"))

    assert response.status_code == 200
