"""Imports bring opt-out flags into the consent ledger, once."""

import io

import pytest

from audit.models import AuditEntry
from clozup.tenancy import org_context
from compliance.models import ConsentEvent
from compliance.selectors.consent import current_consent_for_record
from compliance.services import outreach
from compliance.services.consent import suppress_address
from crm.models import Campaign, Lead
from crm.services import imports

pytestmark = pytest.mark.django_db

COLUMNS = "Lead ID,First Name,Last Name,Email,Phone,Lead Status"
HEADER = COLUMNS + ",Do Not Email,Do Not Call\n"


def _source(text: str, name: str = "leads.csv") -> imports.ImportSource:
    data = (HEADER + text).encode()
    return imports.ImportSource(name=name, open=lambda: io.BytesIO(data))


def _import(org, text: str):
    report = imports.import_files(org, [_source(text)])
    assert report.committed, report.as_dict()
    return report


def test_the_x_education_flags_become_withdrawals_once(org_a, shared_data):
    path = shared_data / "xeducation-leads" / "Leads.csv"
    source = imports.ImportSource(name="Leads.csv", open=lambda: path.open("rb"))

    imports.import_files(org_a, [source])
    with org_context(org_a):
        first = list(
            ConsentEvent.objects.values_list("channel", "purpose", "action", "source")
        )
        linked = ConsentEvent.objects.filter(lead__isnull=False).count()
    imports.import_files(org_a, [source])
    with org_context(org_a):
        after_reimport = ConsentEvent.objects.count()

    assert first.count(("email", "all", "withdraw", "import")) == 734
    assert first.count(("phone", "all", "withdraw", "import")) == 2
    assert len(first) == 736 == linked == after_reimport


def test_a_reimport_adds_no_duplicate_events(org_a):
    rows = "L-1,Ada,Byron,ada@example.org,+44 20 7946 0958,New,Yes,Yes\n"
    rows += "L-2,Bob,Stone,bob@example.org,,New,No,No\n"

    _import(org_a, rows)
    _import(org_a, rows)

    with org_context(org_a):
        events = list(ConsentEvent.objects.all())
        ada = Lead.objects.get(external_id="L-1")
        bob = Lead.objects.get(external_id="L-2")
        email = current_consent_for_record(
            org_a, ada, channel="email", purpose="marketing"
        )
        phone = current_consent_for_record(org_a, ada, channel="phone", purpose="all")
        bob_state = current_consent_for_record(
            org_a, bob, channel="email", purpose="marketing"
        )
        audited = AuditEntry.objects.filter(action="consent.withdrawn").count()
    assert len(events) == 2 == audited
    assert {e.address_hash != "" for e in events} == {True}
    assert not email.can_contact and not phone.can_contact
    assert bob_state.can_contact and bob_state.action is None


def test_a_flag_on_a_lead_without_an_address_follows_the_lead(org_a):
    _import(org_a, "L-9,Cy,Noaddr,,,New,Yes,No\n")

    with org_context(org_a):
        lead = Lead.objects.get(external_id="L-9")
        lead.email = "cy@example.org"
        lead.save(update_fields=["email"])
        state = current_consent_for_record(
            org_a, lead, channel="email", purpose="sales_outreach"
        )
    assert state.withdrawn and state.source == "import"


def test_reimporting_an_erased_person_does_not_bring_them_back(org_a, admin_a, smtp):
    row = "L-5,Eve,Gone,Eve@Example.org,,New,No,No\n"
    _import(org_a, row)
    with org_context(org_a):
        lead = Lead.objects.get(external_id="L-5")
        suppress_address(org_a, address=lead.email, source="erasure", actor=admin_a)
        lead.delete()

    _import(org_a, row.replace("Eve@Example.org", "eve@example.org "))

    with org_context(org_a):
        returned = Lead.objects.get(external_id="L-5")
        state = current_consent_for_record(
            org_a, returned, channel="email", purpose="marketing"
        )
    assert state.suppressed and not state.can_contact

    with org_context(org_a):
        campaign = outreach.create_campaign(
            org_a, name="Back", subject="Hello again", body="Hi", actor=admin_a
        )
        outreach.queue_recipients(campaign, Lead.objects.all(), actor=admin_a)
        Campaign.objects.filter(pk=campaign.pk).update(status="sending")
    counts = outreach.send_campaign(org_a.pk, campaign.pk)
    assert counts["skipped"] == 1 and smtp.recipients() == []
