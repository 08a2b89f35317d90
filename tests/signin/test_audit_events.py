"""Every sign-in event reaches the audit log of each of the person's organizations."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEntry
from clozup.models import Membership
from clozup.signin.models import SecurityPolicy
from clozup.tenancy import org_context
from tests.conftest import PASSWORD
from tests.signin.conftest import find_link, sign_in
from tests.signin.test_mfa import totp

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def events(organization, action=None):
    with org_context(organization):
        entries = AuditEntry.objects.order_by("seq")
        if action:
            entries = entries.filter(action=action)
        return list(entries)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_a_sign_in_is_recorded_in_every_organization_of_the_person(rep_a, org_a, org_b):
    with org_context(org_b):
        Membership.objects.create(organization=org_b, user=rep_a, role="rep")

    sign_in(Client(REMOTE_ADDR="203.0.113.4"), rep_a)

    for organization in (org_a, org_b):
        (entry,) = events(organization, Action.SIGN_IN)
        assert entry.actor_id == rep_a.pk
        assert entry.target_id == str(rep_a.pk)
        assert entry.metadata == {"methods": ["password"]}
        assert entry.ip == "203.0.113.4"


def test_a_sign_in_by_emailed_link_is_recorded_as_such(client, rep_a, org_a, smtp):
    client.post(reverse("account_request_login_code"), {"email": rep_a.email})
    link = find_link(smtp.last_to(rep_a.email), "/accounts/login/link/")
    code = link.rstrip("/").rsplit("/", 1)[1]

    client.post(reverse("account_confirm_login_code"), {"code": code, "via": "link"})

    (entry,) = events(org_a, Action.SIGN_IN)
    assert entry.metadata == {"methods": ["link"]}


def test_a_failed_password_is_recorded_without_the_email(client, rep_a, org_a):
    client.post(
        reverse("account_login"), {"login": rep_a.email, "password": "wrong-one-123"}
    )

    (entry,) = events(org_a, Action.SIGN_IN_FAILED)
    assert entry.metadata == {"step": "password"}
    assert rep_a.email not in str(entry.metadata)


def test_a_lockout_and_its_lifting_are_recorded(
    client, rep_a, admin_a, org_a, settings
):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post(
            reverse("account_login"), {"login": rep_a.email, "password": "wrong-123"}
        )
    with org_context(org_a):
        membership = Membership.objects.get(user=rep_a)
    admin = Client()
    admin.force_login(admin_a)

    admin.post(
        reverse("admin:clozup_membership_changelist"),
        {"action": "lift_sign_in_lockout", "_selected_action": [membership.pk]},
    )

    assert len(events(org_a, Action.LOCKOUT)) == 1
    (lifted,) = events(org_a, Action.LOCKOUT_LIFTED)
    assert lifted.actor_id == admin_a.pk
    assert lifted.metadata["user_id"] == rep_a.pk


def test_adding_and_removing_an_authenticator_are_recorded(
    committed_db, make_org, make_member, clock
):
    # allauth announces a new authenticator once the request's transaction
    # commits, so this test lets requests really commit.
    org_a = make_org()
    rep_a = make_member(org_a)
    browser = Client()
    sign_in(browser, rep_a)
    page = browser.get(reverse("mfa_activate_totp"))
    browser.post(
        reverse("mfa_activate_totp"), {"code": totp(page.context["form"].secret)}
    )

    browser.post(reverse("mfa_deactivate_totp"))

    added = [e.metadata["type"] for e in events(org_a, Action.MFA_ADDED)]
    removed = [e.metadata["type"] for e in events(org_a, Action.MFA_REMOVED)]
    assert "totp" in added and "totp" in removed


def test_an_idle_session_end_is_recorded_with_its_reason(rep_a, org_a, clock):
    with org_context(org_a):
        SecurityPolicy.objects.create(organization=org_a, idle_timeout_minutes=10)
    browser = Client()
    sign_in(browser, rep_a)
    clock.shift(timedelta(minutes=11))

    browser.get("/")

    (entry,) = events(org_a, Action.SESSION_ENDED)
    assert entry.metadata == {"reason": "idle"}
    assert events(org_a, Action.SIGN_OUT) == []


def test_a_forced_sign_out_is_recorded_with_the_admin_as_actor(rep_a, admin_a, org_a):
    with org_context(org_a):
        membership = Membership.objects.get(user=rep_a)
    admin = Client()
    admin.force_login(admin_a)

    admin.post(
        reverse("admin:clozup_membership_changelist"),
        {"action": "sign_out_everywhere", "_selected_action": [membership.pk]},
    )

    (entry,) = events(org_a, Action.FORCED_SIGN_OUT)
    assert entry.actor_id == admin_a.pk
    assert entry.target_id == str(membership.pk)


def test_signing_out_changing_the_password_and_re_authenticating_are_recorded(
    rep_a, org_a
):
    browser = Client()
    sign_in(browser, rep_a)
    new_password = "copper-kettle-horizon-58"

    browser.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    browser.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new_password, "password2": new_password},
    )
    browser.post(reverse("account_logout"))

    assert [e.metadata for e in events(org_a, Action.REAUTHENTICATED)] == [
        {"method": "password"}
    ]
    assert [e.metadata for e in events(org_a, Action.PASSWORD_CHANGED)] == [
        {"how": "changed"}
    ]
    assert len(events(org_a, Action.SIGN_OUT)) == 1


def test_security_settings_changes_name_the_fields_not_the_values(admin_a, org_a):
    admin = Client()
    admin.force_login(admin_a)
    page = admin.get(reverse("admin:signin_securitypolicy_changelist"), follow=True)

    admin.post(page.request["PATH_INFO"], {"idle_timeout_minutes": "15"})

    (entry,) = events(org_a, Action.SECURITY_SETTINGS_CHANGED)
    assert entry.metadata == {"fields": ["idle_timeout_minutes"]}
    assert not re.search(r"\b15\b", str(entry.metadata))
