"""Sessions: idle timeout, absolute lifetime, a person's list, forced sign-out."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse

from clozup.models import Membership
from clozup.signin.models import SecurityPolicy
from clozup.tenancy import org_context
from tests.signin.conftest import sign_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOME = "/"


def set_policy(organization, **fields):
    with org_context(organization):
        SecurityPolicy.objects.update_or_create(
            organization=organization, defaults=fields
        )


def is_signed_in(client) -> bool:
    response = client.get(HOME)
    return response.status_code == 200


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_an_idle_session_ends_after_the_organizations_timeout(
    client, rep_a, org_a, clock
):
    set_policy(org_a, idle_timeout_minutes=30)
    sign_in(client, rep_a)

    clock.shift(timedelta(minutes=29))
    assert is_signed_in(client)
    clock.shift(timedelta(minutes=29))
    assert is_signed_in(client)
    clock.shift(timedelta(minutes=31))
    response = client.get(HOME, follow=True)

    assert response.redirect_chain[0][0].startswith(reverse("account_login"))
    assert b"signed out after a period without activity" in response.content
    assert not response.context["user"].is_authenticated


def test_an_active_session_ends_at_the_organizations_absolute_lifetime(
    client, rep_a, org_a, clock
):
    set_policy(org_a, idle_timeout_minutes=60, session_lifetime_hours=2)
    sign_in(client, rep_a)

    for _ in range(2):
        clock.shift(timedelta(minutes=50))
        assert is_signed_in(client)
    clock.shift(timedelta(minutes=21))
    response = client.get(HOME, follow=True)

    assert b"reached its time limit" in response.content
    assert not response.context["user"].is_authenticated


def test_without_settings_the_platform_defaults_apply(client, rep_a, clock, settings):
    settings.SESSION_IDLE_TIMEOUT = 3600
    sign_in(client, rep_a)

    clock.shift(timedelta(minutes=59))
    assert is_signed_in(client)
    clock.shift(timedelta(minutes=61))

    assert not is_signed_in(client)


def test_forced_sign_out_ends_every_active_session_on_its_next_request(
    rep_a, admin_a, org_a
):
    laptop, phone = Client(), Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Safari/604")
    sign_in(laptop, rep_a)
    sign_in(phone, rep_a)
    assert is_signed_in(laptop) and is_signed_in(phone)
    with org_context(org_a):
        membership = Membership.objects.get(user=rep_a)
    admin = Client()
    admin.force_login(admin_a)

    admin.post(
        reverse("admin:clozup_membership_changelist"),
        {"action": "sign_out_everywhere", "_selected_action": [membership.pk]},
    )

    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert is_signed_in(admin)
    assert UserSession.objects.filter(user=rep_a).count() == 0
    assert sign_in(laptop, rep_a).context["user"] == rep_a


def test_a_session_nobody_listed_still_ends_on_forced_sign_out(rep_a, admin_a, org_a):
    browser = Client()
    browser.force_login(rep_a)
    with org_context(org_a):
        membership = Membership.objects.get(user=rep_a)
    admin = Client()
    admin.force_login(admin_a)

    admin.post(
        reverse("admin:clozup_membership_changelist"),
        {"action": "sign_out_everywhere", "_selected_action": [membership.pk]},
    )

    assert not is_signed_in(browser)


def test_a_person_sees_their_sessions_with_device_ip_and_last_seen(rep_a, rep_b):
    laptop = Client(HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Firefox/133.0")
    phone = Client(
        HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Safari/604", REMOTE_ADDR="203.0.113.9"
    )
    sign_in(laptop, rep_a)
    sign_in(phone, rep_a)
    sign_in(Client(), rep_b)

    page = laptop.get(reverse("signin:session-list"))

    assert page.status_code == 200
    content = page.content.decode()
    assert "Firefox on Windows (this browser)" in content
    assert "Safari on iPhone" in content
    assert "203.0.113.9" in content
    assert len(page.context["rows"]) == 2


def test_a_person_ends_one_of_their_other_sessions(rep_a):
    laptop, phone = Client(), Client()
    sign_in(laptop, rep_a)
    sign_in(phone, rep_a)
    phone_session = UserSession.objects.get(session_key=phone.session.session_key)

    laptop.post(reverse("signin:session-end", args=[phone_session.pk]))

    assert not is_signed_in(phone)
    assert is_signed_in(laptop)


def test_nobody_ends_someone_elses_session(rep_a, rep_b):
    mine, theirs = Client(), Client()
    sign_in(mine, rep_a)
    sign_in(theirs, rep_b)
    their_session = UserSession.objects.get(user=rep_b)

    response = mine.post(reverse("signin:session-end", args=[their_session.pk]))

    assert response.status_code == 404
    assert is_signed_in(theirs)


def test_ending_all_other_sessions_keeps_this_one(rep_a):
    laptop, phone, tablet = Client(), Client(), Client()
    for browser in (laptop, phone, tablet):
        sign_in(browser, rep_a)

    laptop.post(reverse("signin:session-end-others"))

    assert is_signed_in(laptop)
    assert not is_signed_in(phone) and not is_signed_in(tablet)


def test_switching_to_a_stricter_organization_applies_its_lifetime_at_once(
    rep_a, org_a, org_b, clock
):
    with org_context(org_b):
        Membership.objects.create(organization=org_b, user=rep_a, role="rep")
    set_policy(org_b, session_lifetime_hours=2)
    browser = Client()
    sign_in(browser, rep_a)
    browser.post(reverse("switch-organization"), {"organization": org_a.pk})
    for _ in range(5):
        clock.shift(timedelta(minutes=40))
        assert is_signed_in(browser)

    browser.post(reverse("switch-organization"), {"organization": org_b.pk})

    assert not is_signed_in(browser)
