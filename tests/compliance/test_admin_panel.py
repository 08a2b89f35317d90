"""The Admin Panel's retention page, account cancellation and legal holds;
a cancelled organization is read-only in every page."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEntry
from clozup import services as clozup_services
from clozup.models import Membership, Organization
from clozup.tenancy import org_context
from compliance.models import LegalHold, RetentionSettings
from compliance.selectors import address_hash
from crm.models import Lead

pytestmark = pytest.mark.django_db

RETENTION = "admin:compliance_retentionsettings_changelist"


@pytest.fixture
def owner_a(org_a):
    with org_context(org_a):
        return Membership.objects.get(role=Membership.Role.OWNER).user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def events(org, action):
    with org_context(org):
        return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def test_an_admin_sees_the_effective_retention_table(admin_a, org_a):
    with org_context(org_a):
        RetentionSettings.objects.create(organization=org_a, call_recording_months=18)

    page = signed_in(admin_a).get(reverse(RETENTION), follow=True)

    body = page.content.decode()
    assert page.status_code == 200
    assert "Your retention table" in body
    assert "18 months <strong>(your terms)</strong>" in body
    assert "90 days (Pro plan)" in body
    assert "Purged within 30 days" in body


def test_an_admin_changes_the_recording_period_and_it_is_audited(admin_a, org_a):
    client = signed_in(admin_a)
    page = client.get(reverse(RETENTION), follow=True)

    response = client.post(page.request["PATH_INFO"], {"call_recording_months": "6"})

    assert response.status_code == 302
    with org_context(org_a):
        assert RetentionSettings.objects.get().call_recording_months == 6
    (event,) = events(org_a, Action.RETENTION_SETTINGS_CHANGED)
    assert event.metadata["fields"] == ["call_recording_months"]


def test_enterprise_terms_cannot_be_set_on_another_plan(admin_a, org_a):
    client = signed_in(admin_a)
    page = client.get(reverse(RETENTION), follow=True)

    client.post(page.request["PATH_INFO"], {"deleted_records_days": "5"})

    with org_context(org_a):
        assert RetentionSettings.objects.get().deleted_records_days is None
    assert b"Enterprise plan: custom terms" in page.content


def test_the_owner_cancels_and_reactivates_the_organization(owner_a, org_a):
    client = signed_in(owner_a)

    page = client.post(
        reverse("admin:compliance_retentionsettings_cancel"), follow=True
    )

    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.CANCELLED
    assert b"cancelled and read-only" in page.content
    assert b"reactivate-organization" in page.content
    assert events(org_a, Action.ORGANIZATION_CANCELLED)[0].actor_id == owner_a.pk

    client.post(reverse("admin:compliance_retentionsettings_reactivate"))

    org_a.refresh_from_db()
    assert org_a.is_active
    assert events(org_a, Action.ORGANIZATION_REACTIVATED)


def test_an_admin_who_is_not_owner_cannot_cancel(admin_a, org_a):
    response = signed_in(admin_a).post(
        reverse("admin:compliance_retentionsettings_cancel")
    )

    assert response.status_code == 403
    org_a.refresh_from_db()
    assert org_a.is_active


def test_a_cancelled_organization_refuses_changes_but_shows_and_exports(
    owner_a, rep_a, org_a, make_lead
):
    lead = make_lead(org_a)
    with org_context(org_a):
        clozup_services.cancel_organization(org_a, actor=owner_a)
    rep = signed_in(rep_a)

    shown = rep.get(reverse("crm:lead-detail", args=[lead.pk]))
    refused = rep.post(reverse("crm:lead-status", args=[lead.pk]), {"status": "new"})
    audit_export = signed_in(owner_a).get(reverse("admin:audit_auditentry_export"))

    assert shown.status_code == 200
    assert refused.status_code == 403
    assert b"is read-only" in refused.content
    assert b"reactivate it in the" in refused.content
    assert audit_export.status_code == 200
    with org_context(org_a):
        assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW


def test_the_admin_panel_of_a_cancelled_organization_refuses_edits_but_not_reactivation(
    owner_a, org_a
):
    with org_context(org_a):
        clozup_services.cancel_organization(org_a, actor=owner_a)
    client = signed_in(owner_a)
    page = client.get(reverse(RETENTION), follow=True)

    edit = client.post(page.request["PATH_INFO"], {"call_recording_months": "6"})
    reactivate = client.post(reverse("admin:compliance_retentionsettings_reactivate"))

    assert b"Everything will be deleted on" in page.content
    assert edit.status_code == 403
    assert reactivate.status_code == 302
    org_a.refresh_from_db()
    assert org_a.is_active


def test_an_admin_places_a_person_hold_without_storing_the_address(admin_a, org_a):
    client = signed_in(admin_a)

    response = client.post(
        reverse("admin:compliance_legalhold_add"),
        {"scope": "person", "email": "Someone@Example.org", "reason": "CASE-12"},
    )

    assert response.status_code == 302
    with org_context(org_a):
        hold = LegalHold.objects.get()
    assert hold.address_hash == address_hash("someone@example.org")
    assert hold.placed_by == f"user:{admin_a.pk}"
    (event,) = events(org_a, Action.LEGAL_HOLD_CHANGED)
    assert "example.org" not in str(event.metadata)
    page = client.get(reverse(RETENTION), follow=True)
    assert b"A person (by email address)" in page.content
    listing = client.get(reverse("admin:compliance_legalhold_changelist"))
    assert b"address hash" in listing.content and b"Example" not in listing.content


def test_an_admin_releases_a_hold_with_the_list_action(admin_a, org_a):
    client = signed_in(admin_a)
    client.post(
        reverse("admin:compliance_legalhold_add"),
        {"scope": "organization", "reason": "CASE-13"},
    )
    with org_context(org_a):
        hold = LegalHold.objects.get()

    client.post(
        reverse("admin:compliance_legalhold_changelist"),
        {"action": "release_selected", "_selected_action": [hold.pk]},
    )

    with org_context(org_a):
        assert LegalHold.objects.get().released_at is not None
    states = [e.metadata["state"] for e in events(org_a, Action.LEGAL_HOLD_CHANGED)]
    assert states == ["placed", "released"]
