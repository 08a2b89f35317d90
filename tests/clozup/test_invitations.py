"""An admin who adds an address that already has an account sends an invitation;
the person becomes a member only by accepting it, signed in."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from clozup import services
from clozup.models import Membership
from clozup.tenancy import org_context
from tests.conftest import PASSWORD

LINK = re.compile(r"/invitations/([^/\s\"]+)/")


def _events(org, action):
    with org_context(org):
        return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def _is_member(org, user) -> bool:
    with org_context(org):
        return Membership.objects.filter(user=user).exists()


@pytest.fixture
def admin_client(admin_a):
    client = Client()
    client.force_login(admin_a)
    return client


@pytest.fixture
def invite(admin_client, mailoutbox, django_capture_on_commit_callbacks):
    """Have admin_a add the person by email; returns the invitation's path."""

    def send(person, role="rep"):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                reverse("admin:clozup_membership_add"),
                {"email": person.email, "role": role},
            )
        assert response.status_code == 302, response.content
        token = LINK.search(mailoutbox[-1].body).group(1)
        return reverse("accept-invitation", args=[token])

    return send


@pytest.fixture
def person_client(rep_b):
    client = Client()
    client.force_login(rep_b)
    return client


def test_adding_an_existing_account_sends_an_invitation_instead(
    admin_client, admin_a, rep_b, org_a, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:clozup_membership_add"),
            {"email": rep_b.email, "role": "admin"},
            follow=True,
        )

    assert b"Invitation sent to" in response.content
    assert not _is_member(org_a, rep_b)
    added = [event.metadata["user_id"] for event in _events(org_a, "member.added")]
    assert rep_b.pk not in added
    assert [mail.to for mail in mailoutbox] == [[rep_b.email]]
    assert "Acme Sales" in mailoutbox[0].subject
    assert LINK.search(mailoutbox[0].body)
    event = _events(org_a, "member.invited")[-1]
    assert event.actor_id == admin_a.pk
    assert event.metadata == {"user_id": rep_b.pk, "role": "admin"}


def test_no_mail_leaves_when_the_invitation_is_not_committed(
    admin_client, rep_b, mailoutbox
):
    admin_client.post(
        reverse("admin:clozup_membership_add"), {"email": rep_b.email, "role": "rep"}
    )

    assert mailoutbox == []


def test_accepting_the_invitation_makes_the_person_a_member_once(
    invite, person_client, admin_a, rep_b, org_a
):
    path = invite(rep_b, role="admin")

    page = person_client.get(path)
    first = person_client.post(path)
    second = person_client.post(path)

    assert page.status_code == 200
    assert b"Join Acme Sales" in page.content
    assert (first.status_code, second.status_code) == (302, 302)
    with org_context(org_a):
        assert Membership.objects.get(user=rep_b).role == "admin"
    [event] = [e for e in _events(org_a, "member.added") if e.actor_id == rep_b.pk]
    assert event.metadata == {
        "user_id": rep_b.pk,
        "role": "admin",
        "invited_by": admin_a.pk,
    }


def test_a_member_removed_after_joining_cannot_rejoin_with_the_link(
    invite, person_client, rep_b, org_a, org_b
):
    path = invite(rep_b)
    person_client.post(path)
    with org_context(org_a):
        owner = Membership.objects.get(role="owner").user
        services.remove_member(Membership.objects.get(user=rep_b), actor=owner)

    again = person_client.post(path)

    assert again.status_code == 400
    assert not _is_member(org_a, rep_b)


def test_opening_the_link_without_posting_changes_nothing(
    invite, person_client, rep_b, org_a
):
    path = invite(rep_b)

    person_client.get(path)

    assert not _is_member(org_a, rep_b)


def test_a_second_use_keeps_a_role_changed_since(invite, person_client, rep_b, org_a):
    path = invite(rep_b, role="admin")
    person_client.post(path)
    with org_context(org_a):
        membership = Membership.objects.get(user=rep_b)
        membership.role = "rep"
        membership.save(update_fields=["role"])

    person_client.post(path)

    with org_context(org_a):
        assert Membership.objects.get(user=rep_b).role == "rep"


def test_another_signed_in_person_cannot_accept(
    invite, rep_b, org_a, org_b, make_member
):
    path = invite(rep_b)
    someone_else = Client()
    someone_else.force_login(make_member(org_b))

    page = someone_else.get(path)
    posted = someone_else.post(path)

    assert page.status_code == 403
    assert posted.status_code == 403
    assert not _is_member(org_a, rep_b)


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(invite, rep_b, org_a):
    path = invite(rep_b)

    response = Client().post(path)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert not _is_member(org_a, rep_b)


def test_a_changed_link_is_refused(invite, person_client, rep_b, org_a):
    path = invite(rep_b)
    token = path.rstrip("/").rsplit("/", 1)[1]
    payload, rest = token.split(":", 1)
    tampered = payload[:-1] + ("A" if payload[-1] != "A" else "B") + ":" + rest

    response = person_client.post(reverse("accept-invitation", args=[tampered]))

    assert response.status_code == 400
    assert b"not valid" in response.content
    assert not _is_member(org_a, rep_b)


def test_an_expired_link_is_refused(invite, rep_b, org_a):
    path = invite(rep_b)

    later = timezone.now() + dt.timedelta(days=4)
    with time_machine.travel(later, tick=False):
        # Signed in afresh: a session that old has ended anyway.
        person = Client()
        person.force_login(rep_b)
        response = person.post(path)

    assert response.status_code == 400
    assert not _is_member(org_a, rep_b)


def test_the_invitation_lapses_when_its_sender_is_no_longer_an_admin(
    invite, person_client, admin_a, rep_b, org_a
):
    path = invite(rep_b)
    with org_context(org_a):
        sender = Membership.objects.get(user=admin_a)
        services.change_member_role(sender, role="rep", actor="operator:test")

    response = person_client.post(path)

    assert response.status_code == 400
    assert not _is_member(org_a, rep_b)


def test_an_admin_cannot_invite_someone_as_owner(
    admin_client, rep_b, org_a, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:clozup_membership_add"),
            {"email": rep_b.email, "role": "owner"},
        )

    assert response.status_code == 200
    assert b"only an owner may grant the owner role" in response.content
    assert mailoutbox == []
    assert _events(org_a, "member.invited") == []


def test_the_admin_actions_cannot_reach_a_person_only_invited(
    invite, admin_client, rep_b, org_a, org_b, settings
):
    settings.AXES_FAILURE_LIMIT = 2
    invite(rep_b)
    # Signed in before the failures: a sign-in clears them.
    person = Client()
    person.force_login(rep_b)
    for _ in range(2):
        Client().post(
            reverse("account_login"),
            {"login": rep_b.email, "password": "wrong-password-123"},
        )
    with org_context(org_b):
        foreign = Membership.objects.get(user=rep_b)

    for action in ("lift_sign_in_lockout", "sign_out_everywhere"):
        admin_client.post(
            reverse("admin:clozup_membership_changelist"),
            {"action": action, "_selected_action": [foreign.pk]},
        )

    assert person.get("/").status_code == 200
    still_locked = Client().post(
        reverse("account_login"), {"login": rep_b.email, "password": PASSWORD}
    )
    assert still_locked.status_code != 302
    assert _events(org_a, "auth.lockout_lifted") == []
    assert _events(org_a, "auth.forced_sign_out") == []
