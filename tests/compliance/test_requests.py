"""Data-subject requests: recorded by admins or confirmed by the person, due in
30 days, with a history, listed when the deadline nears."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEntry
from clozup.tenancy import org_context
from compliance.models import DataSubjectRequest, DataSubjectRequestEvent
from compliance.selectors.requests import list_requests_near_deadline
from compliance.services import requests as services

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:compliance_datasubjectrequest_changelist"


def add_request(organization, admin, **fields):
    fields.setdefault("kind", DataSubjectRequest.Kind.ACCESS)
    fields.setdefault("email", "asker@subject.example")
    with org_context(organization):
        return services.record_request(organization, actor=admin, **fields)


def test_an_admin_records_a_request_due_thirty_days_later(admin_client, org_a):
    response = admin_client.post(
        reverse("admin:compliance_datasubjectrequest_add"),
        {
            "kind": "erasure",
            "email": "Asker@Subject.example",
            "phone": "",
            "details": "",
            "received_at_0": "2026-11-02",
            "received_at_1": "10:00:00",
            "verification_method": "known_channel",
        },
    )

    assert response.status_code == 302, response.content
    with org_context(org_a):
        dsr = DataSubjectRequest.objects.get()
        history = list(dsr_events(dsr))
        audited = AuditEntry.objects.filter(
            action=Action.DSR_RECEIVED, target_id=str(dsr.pk)
        ).count()
    assert dsr.email == "asker@subject.example"
    assert dsr.due_at - dsr.received_at == timedelta(days=30)
    assert dsr.is_verified and dsr.verified_by is not None
    assert history == ["received", "verified"]
    assert audited == 1


def dsr_events(dsr):
    return DataSubjectRequestEvent.objects.filter(request=dsr).values_list(
        "kind", flat=True
    )


def test_a_request_cannot_be_fulfilled_before_the_identity_is_verified(org_a, admin_a):
    dsr = add_request(org_a, admin_a)

    with org_context(org_a), pytest.raises(ValueError, match="verify"):
        services.change_status(dsr, status="fulfilled", actor=admin_a)

    with org_context(org_a):
        services.verify_identity(dsr, method="document", actor=admin_a)
        services.change_status(dsr, status="fulfilled", actor=admin_a)
        dsr.refresh_from_db()
        kinds = list(dsr_events(dsr))
        fulfilled = AuditEntry.objects.filter(action=Action.DSR_FULFILLED).count()
    assert dsr.closed_at is not None
    assert kinds == ["received", "verified", "status_changed"]
    assert fulfilled == 1
    with org_context(org_a), pytest.raises(services.RequestClosed):
        services.change_status(dsr, status="in_progress", actor=admin_a)


def test_requests_near_or_past_their_deadline_are_listed(admin_client, org_a, admin_a):
    now = timezone.now()
    overdue = add_request(org_a, admin_a, received_at=now - timedelta(days=31))
    nearing = add_request(org_a, admin_a, received_at=now - timedelta(days=25))
    later = add_request(org_a, admin_a, received_at=now - timedelta(days=2))

    with org_context(org_a):
        listed = [dsr.pk for dsr in list_requests_near_deadline()]
    page = admin_client.get(reverse(CHANGELIST), {"deadline": "attention"})

    assert listed == [overdue.pk, nearing.pk]
    assert page.status_code == 200
    shown = re.findall(rb"Request (\d+) \(", page.content)
    assert {int(pk) for pk in shown} == {overdue.pk, nearing.pk}
    assert b"overdue by" in page.content
    assert later.pk not in [int(pk) for pk in shown]


def test_another_organizations_requests_are_not_shown(
    admin_client, org_a, org_b, admin_a, make_member
):
    theirs = add_request(org_b, make_member(org_b, role="admin"))

    page = admin_client.get(reverse(CHANGELIST))

    assert f"Request {theirs.pk} (".encode() not in page.content


def submit(client, organization, email="asker@subject.example", kind="access"):
    url = reverse("compliance:request-form", args=[organization.slug])
    return client.post(url, {"email": email, "kind": kind, "details": "All of it"})


def confirmation_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/privacy/\S+/)", message.body).group(1)


def test_a_public_request_is_recorded_only_once_the_emailed_link_is_opened(
    client, org_a, mailoutbox
):
    sent = submit(client, org_a)

    assert sent.status_code == 200 and b"Check your inbox" in sent.content
    with org_context(org_a):
        assert not DataSubjectRequest.objects.exists()
    assert mailoutbox[0].to == ["asker@subject.example"]

    path = confirmation_path(mailoutbox[0])
    shown = client.get(path)
    with org_context(org_a):
        assert not DataSubjectRequest.objects.exists()
    done = client.post(path)
    again = client.post(path)

    assert shown.status_code == 200 and b"Confirm the request" in shown.content
    assert done.status_code == 200 and again.status_code == 200
    with org_context(org_a):
        dsr = DataSubjectRequest.objects.get()
        received = AuditEntry.objects.get(action=Action.DSR_RECEIVED)
    assert dsr.channel == "public_form" and dsr.verification_method == "email_link"
    assert dsr.details == "All of it" and dsr.is_verified
    # The person's own IP address is not kept in the audit log.
    assert received.ip == "" and received.user_agent == ""


def test_an_altered_confirmation_link_is_refused(client, org_a, org_b, mailoutbox):
    submit(client, org_a)
    path = confirmation_path(mailoutbox[0])

    altered = client.post(path[:-3] + "xx/")
    other_org = client.post(path.replace(f"/{org_a.slug}/", f"/{org_b.slug}/"))

    assert altered.status_code == 400 and other_org.status_code == 400
    with org_context(org_a):
        assert not DataSubjectRequest.objects.exists()


def test_the_public_form_is_rate_limited_per_address(client, org_a, mailoutbox):
    answers = [submit(client, org_a).status_code for _ in range(4)]
    other = submit(client, org_a, email="someone.else@subject.example")

    assert answers == [200, 200, 200, 429]
    assert other.status_code == 200
    assert len(mailoutbox) == 4


def test_the_public_form_names_the_bad_field(client, org_a, mailoutbox):
    response = submit(client, org_a, email="not-an-address")

    assert response.status_code == 200
    assert b"Enter a valid email address" in response.content
    assert mailoutbox == []


def test_a_cancelled_organization_has_no_public_form(client, org_a):
    org_a.status, org_a.cancelled_at = "cancelled", timezone.now()
    org_a.save(update_fields=["status", "cancelled_at"])

    url = reverse("compliance:request-form", args=[org_a.slug])
    assert client.get(url).status_code == 404
