"""An erased or unsubscribed person who comes back is flagged on the record."""

import pytest

from audit.models import AuditEntry
from clozup.tenancy import org_context
from compliance.models import ConsentEvent
from compliance.services.consent import suppress_address
from crm.models import Lead

pytestmark = pytest.mark.django_db

RETURNING = "returning@example.org"


@pytest.fixture
def erased(org_a, admin_a):
    with org_context(org_a):
        suppress_address(org_a, address=RETURNING, source="erasure", actor=admin_a)


def test_a_manually_entered_erased_person_is_flagged_on_create_and_on_the_record(
    client, org_a, rep_a, erased
):
    client.force_login(rep_a)

    response = client.post(
        "/leads/new/",
        {"first_name": "Re", "last_name": "Turn", "email": RETURNING, "status": "new"},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "stays out of outreach until an admin records" in page
    assert "Suppressed" in page
    assert "Record a new lawful basis" not in page


def test_an_admin_grant_with_a_basis_lifts_the_flag_and_a_rep_cannot(
    client, org_a, rep_a, admin_a, make_lead, erased
):
    lead = make_lead(org_a, email=RETURNING)
    grant = {
        "channel": "email",
        "purpose": "marketing",
        "lawful_basis": "consent",
        "text_shown": "Signed up again at the trade fair, form 12.",
    }

    client.force_login(rep_a)
    refused = client.post(f"/consent/lead/{lead.pk}/grant/", grant)
    client.force_login(admin_a)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    client.post(f"/consent/lead/{lead.pk}/grant/", grant)
    after = client.get(f"/leads/{lead.pk}/").content.decode()

    assert refused.status_code == 403
    assert "Suppressed" in page and "Record a new lawful basis" in page
    assert "Suppressed" not in after and "Granted" in after
    with org_context(org_a):
        event = ConsentEvent.objects.get()
        entry = AuditEntry.objects.get(action="consent.granted")
    assert event.source == "admin" and event.lead_id == lead.pk
    assert event.lawful_basis == "consent"
    assert entry.actor_id == admin_a.pk


def test_a_returning_contact_is_flagged_too(client, org_a, rep_a, erased):
    client.force_login(rep_a)
    response = client.post(
        "/contacts/new/",
        {"first_name": "Co", "last_name": "Ntact", "email": RETURNING},
        follow=True,
    )

    assert "Suppressed" in response.content.decode()
    with org_context(org_a):
        assert not Lead.objects.exists()
