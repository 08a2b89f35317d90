"""The purge primitives: rows, what hangs off them and their files, for good."""

import json

import pytest

from audit.actions import Action
from audit.models import AuditEntry
from clozup import backups
from clozup.encryption import OrganizationKeyDestroyed, get_organization_data_key
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance.services import purge
from crm.models import Activity, Company, Deal, Lead

pytestmark = pytest.mark.django_db


def _exists(org, model, pk) -> bool:
    with org_context(org):
        return model._base_manager.filter(pk=pk).exists()


def test_purging_a_lead_removes_its_activities_files_and_blobs(
    org_a,
    rep_a,
    make_lead,
    make_activity,
    make_deal,
    attach,
    record_call,
    private_storage,
):
    lead = make_lead(org_a)
    note = make_activity(org_a, lead=lead)
    attachment = attach(lead, rep_a)
    recording = record_call(lead, rep_a)
    deal = make_deal(org_a, lead=lead)
    blobs = [
        private_storage / attachment.storage_name,
        private_storage / recording.storage_name,
    ]
    assert all(blob.exists() for blob in blobs)

    counts = purge.purge_records(org_a, Lead, [lead.pk])

    assert counts.rows == {
        "crm_lead": 1,
        "crm_activity": 1,
        "crm_attachment": 1,
        "crm_callrecording": 1,
    }
    assert counts.files == {"private": 2}
    assert not any(blob.exists() for blob in blobs)
    assert not _exists(org_a, Activity, note.pk)
    # The deal that came from the lead stays, without the link.
    with org_context(org_a):
        assert Deal.objects.get(pk=deal.pk).lead_id is None


def test_a_purge_is_audited_with_counts_only(org_a, make_lead):
    leads = [make_lead(org_a) for _ in range(3)]

    purge.purge_records(org_a, Lead, [lead.pk for lead in leads], batch_size=2)

    with org_context(org_a):
        events = list(
            AuditEntry.objects.filter(action=Action.RECORD_PURGED).order_by("seq")
        )
    assert [event.metadata for event in events] == [
        {"model": "crm.lead", "rows": {"crm_lead": 2}, "files": {}},
        {"model": "crm.lead", "rows": {"crm_lead": 1}, "files": {}},
    ]
    assert all(event.actor_label == "system" for event in events)


def test_each_batch_is_written_to_the_backup_journal(org_a, make_lead):
    leads = [make_lead(org_a) for _ in range(3)]

    purge.purge_records(org_a, Lead, [lead.pk for lead in leads], batch_size=2)

    entries = backups.read_journal()
    assert [(e.kind, e.model, e.organization_id) for e in entries] == [
        ("records.purge", "crm.lead", org_a.pk)
    ] * 2
    assert sorted(i for e in entries for i in e.ids) == sorted(
        lead.pk for lead in leads
    )


def test_a_rerun_over_rows_and_files_already_gone_is_a_no_op(
    org_a, rep_a, make_lead, attach, private_storage
):
    lead = make_lead(org_a)
    attachment = attach(lead, rep_a)
    # A crash after the file went but before the rows committed.
    (private_storage / attachment.storage_name).unlink()

    first = purge.purge_records(org_a, Lead, [lead.pk])
    second = purge.purge_records(org_a, Lead, [lead.pk])

    assert first.rows == {"crm_lead": 1, "crm_attachment": 1}
    assert first.files == {}
    assert not second


def test_a_queryset_is_re_checked_so_a_restored_record_stays(org_a, make_lead):
    from django.utils import timezone

    deleted = make_lead(org_a, deleted_at=timezone.now())
    live = make_lead(org_a)

    counts = purge.purge_records(org_a, Lead, Lead.objects.deleted())

    assert counts.rows == {"crm_lead": 1}
    assert not _exists(org_a, Lead, deleted.pk)
    assert _exists(org_a, Lead, live.pk)


def test_another_organizations_rows_are_out_of_reach(org_a, org_b, make_lead):
    theirs = make_lead(org_b)

    counts = purge.purge_records(org_a, Lead, [theirs.pk])

    assert not counts
    assert _exists(org_b, Lead, theirs.pk)


def test_a_row_protected_by_another_blocks_the_purge(org_a, make_deal):
    from crm.models import Stage

    deal = make_deal(org_a)

    with pytest.raises(purge.PurgeBlocked, match="crm.deal.stage"):
        purge.purge_records(org_a, Stage, [deal.stage_id])

    assert _exists(org_a, Deal, deal.pk)


def test_a_queryset_of_another_model_is_refused(org_a):
    with pytest.raises(TypeError, match="ids_or_queryset"):
        purge.purge_records(org_a, Lead, Company.objects.all())


def test_purging_an_organization_leaves_no_row_file_or_key(
    org_a,
    org_b,
    rep_a,
    make_lead,
    make_company,
    make_deal,
    make_activity,
    attach,
    record_call,
    private_storage,
):
    parent = make_company(org_a)
    child = make_company(org_a, parent=parent)
    lead = make_lead(org_a, company=child)
    make_activity(org_a, lead=lead)
    make_deal(org_a, lead=lead, company=parent)
    attach(lead, rep_a)
    record_call(lead, rep_a)
    kept = make_lead(org_b)
    with org_context(org_a):
        get_organization_data_key(org_a.pk)

    counts = purge.purge_organization_data(org_a)

    assert purge.count_organization_rows(org_a.pk) == {}
    assert counts.files == {"private": 2}
    assert counts.rows["crm_company"] == 2 and counts.rows["crm_lead"] == 1
    assert counts.rows["clozup_membership"] == 2
    assert counts.rows["audit_auditentry"] > 0
    left = [p for p in (private_storage / f"org-{org_a.pk}").rglob("*") if p.is_file()]
    assert left == []
    # The registry row stays for the caller; another organization is untouched.
    assert Organization.objects.filter(pk=org_a.pk).exists()
    assert _exists(org_b, Lead, kept.pk)
    journal = [e.kind for e in backups.read_journal()]
    assert journal == ["organization.purge"]


def test_purging_an_organization_twice_is_a_no_op_the_second_time(org_a, make_lead):
    make_lead(org_a)
    purge.purge_organization_data(org_a)

    again = purge.purge_organization_data(org_a)

    assert not again.total_rows and not again.total_files


def test_the_data_key_is_destroyed_before_anything_else(org_a, monkeypatch):
    with org_context(org_a):
        get_organization_data_key(org_a.pk)

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(purge, "_empty_table", crash)
    with pytest.raises(RuntimeError, match="killed"):
        purge.purge_organization_data(org_a)

    with org_context(org_a), pytest.raises(OrganizationKeyDestroyed):
        get_organization_data_key(org_a.pk)


def test_rows_left_in_any_organization_table_fail_the_purge(org_a, monkeypatch):
    real = purge.organization_models

    def without_leads():
        return [model for model in real() if model is not Lead]

    with org_context(org_a):
        Lead.objects.create(organization=org_a, first_name="Left")
    monkeypatch.setattr(purge, "organization_models", without_leads)

    with pytest.raises(purge.OrganizationNotEmpty, match=r"crm_lead \(1\)"):
        purge.purge_organization_data(org_a)


def test_the_counts_hold_table_and_location_names_only(org_a, make_lead):
    make_lead(org_a)

    counts = purge.purge_organization_data(org_a)

    text = json.dumps(counts.as_metadata())
    assert "@" not in text and "Lead" not in text


def test_the_consent_ledger_goes_with_the_organization_through_its_owner(
    org_a, admin_a, make_lead
):
    from compliance.models import ConsentEvent
    from compliance.services.consent import record_consent_event

    lead = make_lead(org_a)
    with org_context(org_a):
        record_consent_event(
            org_a,
            address=lead.email,
            channel="email",
            purpose="marketing",
            action="grant",
            source="admin",
            lawful_basis="consent",
            evidence={},
            actor=admin_a,
            lead=lead,
        )

    counts = purge.purge_organization_data(org_a)

    assert counts.rows["compliance_consentevent+compliance_suppression"] == 1
    with org_context(org_a):
        assert not ConsentEvent.objects.exists()
    assert purge.count_organization_rows(org_a.pk) == {}
