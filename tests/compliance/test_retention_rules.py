"""Each row of the retention table: just inside its limit stays, just outside goes.

Time is moved with time-machine; the sweep is the service the beat jobs call.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit import services as audit
from audit.actions import Action
from audit.models import AuditEntry
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance import retention
from compliance.services import retention as retention_services
from crm.models import CallRecording, Campaign, Company, Contact, Deal, Lead

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _exists(org, model, pk) -> bool:
    with org_context(org):
        return model._base_manager.filter(pk=pk).exists()


def _sweep_at(moment, org, **options):
    with time_machine.travel(moment, tick=False):
        return retention_services.sweep_organization(org, **options)


@pytest.fixture
def soft_deleted(make_lead, make_company, make_deal):
    def make(org, model):
        with time_machine.travel(T0, tick=False):
            if model is Lead:
                record = make_lead(org)
            elif model is Company:
                record = make_company(org)
            elif model is Deal:
                record = make_deal(org)
            else:
                with org_context(org):
                    if model is Contact:
                        record = Contact.objects.create(
                            organization=org, email="c@x.io"
                        )
                    else:
                        record = Campaign.objects.create(
                            organization=org, name="Spring"
                        )
            with org_context(org):
                model._base_manager.filter(pk=record.pk).update(deleted_at=T0)
        return record

    return make


@pytest.mark.parametrize("model", [Lead, Deal, Campaign, Contact, Company])
def test_a_deleted_record_stays_restorable_until_its_window_ends_then_goes(
    org_a, soft_deleted, model
):
    record = soft_deleted(org_a, model)
    window = retention.DELETED_RECORDS_PROMISE - retention.PURGE_MARGIN

    _sweep_at(T0 + window - MINUTE, org_a)
    assert _exists(org_a, model, record.pk)

    _sweep_at(T0 + window + MINUTE, org_a)
    assert not _exists(org_a, model, record.pk)


def test_the_window_leaves_the_30_day_promise_a_two_day_margin():
    terms = retention.terms_for(Organization(plan=Organization.Plan.PRO))

    assert terms.deleted_records_promise == timedelta(days=30)
    assert terms.deleted_records_purge_after == timedelta(days=28)


def test_a_live_record_is_never_swept(org_a, make_lead):
    with time_machine.travel(T0, tick=False):
        lead = make_lead(org_a)

    _sweep_at(T0 + timedelta(days=400), org_a)

    assert _exists(org_a, Lead, lead.pk)


def test_a_call_recording_is_kept_12_months_then_goes_with_its_file(
    org_a, rep_a, make_lead, record_call, private_storage
):
    lead = make_lead(org_a)
    recording = record_call(lead, rep_a, recorded_at=T0)
    blob = private_storage / recording.storage_name
    twelve_months = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)

    _sweep_at(twelve_months - MINUTE, org_a)
    assert _exists(org_a, CallRecording, recording.pk) and blob.exists()

    report = _sweep_at(twelve_months + MINUTE, org_a)
    assert not _exists(org_a, CallRecording, recording.pk)
    assert not blob.exists()
    assert report.counts().files == {"private": 1}
    assert _exists(org_a, Lead, lead.pk)


def test_an_organizations_own_recording_period_applies(
    org_a, rep_a, admin_a, make_lead, record_call
):
    with org_context(org_a):
        retention_services.save_retention_settings(
            org_a, changes={"call_recording_months": 6}, actor=admin_a
        )
    recording = record_call(make_lead(org_a), rep_a, recorded_at=T0)
    six_months = datetime(2026, 7, 10, 12, 0, tzinfo=UTC)

    _sweep_at(six_months - MINUTE, org_a)
    assert _exists(org_a, CallRecording, recording.pk)

    _sweep_at(six_months + MINUTE, org_a)
    assert not _exists(org_a, CallRecording, recording.pk)


def test_a_deleted_recording_goes_well_within_7_days(
    org_a, rep_a, make_lead, record_call, private_storage
):
    recording = record_call(make_lead(org_a), rep_a, deleted_at=T0)
    blob = private_storage / recording.storage_name
    after = retention.DELETED_RECORDINGS_PROMISE - retention.PURGE_MARGIN

    _sweep_at(T0 + after - MINUTE, org_a)
    assert blob.exists()

    _sweep_at(T0 + after + MINUTE, org_a)
    assert not _exists(org_a, CallRecording, recording.pk)
    assert not blob.exists()


@pytest.mark.parametrize(
    "plan,days",
    [
        (Organization.Plan.FREE, 7),
        (Organization.Plan.PRO, 90),
        (Organization.Plan.ENTERPRISE, 365),
    ],
)
def test_audit_entries_are_kept_for_the_plans_period(make_org, plan, days):
    with time_machine.travel(T0, tick=False):
        org = make_org(plan=plan)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False), org_context(org):
        entry = audit.record_event(Action.RECORD_UPDATED, organization=org)

    _sweep_at(T0 + timedelta(days=days, hours=1) - MINUTE, org, rules=["audit_log"])
    assert _exists(org, AuditEntry, entry.pk)

    _sweep_at(T0 + timedelta(days=days, hours=1) + MINUTE, org, rules=["audit_log"])
    assert not _exists(org, AuditEntry, entry.pk)
    with org_context(org):
        assert audit.verify_chain(org).ok
        removals = AuditEntry.objects.filter(action=Action.AUDIT_ENTRIES_REMOVED)
        removed = [event.metadata["entries"] for event in removals.order_by("seq")]
    # The organization's creation (two entries) went on the first sweep.
    assert removed == [2, 1]


def test_a_sweep_records_its_counts_in_the_audit_log(org_a, soft_deleted):
    soft_deleted(org_a, Lead)

    _sweep_at(T0 + timedelta(days=29), org_a)

    with org_context(org_a):
        sweep = AuditEntry.objects.get(action=Action.RETENTION_SWEEP)
    assert sweep.metadata["rows"] == {"crm_lead": 1}
    assert sweep.actor_label == "system"


def test_a_dry_run_counts_per_table_and_changes_nothing(
    org_a, rep_a, soft_deleted, attach, make_activity
):
    lead = soft_deleted(org_a, Lead)
    attach(lead, rep_a)
    make_activity(org_a, lead=lead)

    report = _sweep_at(T0 + timedelta(days=29), org_a, dry_run=True)

    assert report.counts().rows == {
        "crm_lead": 1,
        "crm_attachment": 1,
        "crm_activity": 1,
    }
    assert report.counts().files == {"private": 1}
    assert _exists(org_a, Lead, lead.pk)
    with org_context(org_a):
        assert not AuditEntry.objects.filter(action=Action.RETENTION_SWEEP).exists()


def test_the_sweep_never_reaches_another_organizations_rows(org_a, org_b, soft_deleted):
    theirs = soft_deleted(org_b, Lead)

    _sweep_at(T0 + timedelta(days=29), org_a)

    assert _exists(org_b, Lead, theirs.pk)


def test_enterprise_terms_are_refused_on_other_plans(org_a, admin_a):
    with (
        org_context(org_a),
        pytest.raises(
            retention_services.CustomTermsNeedEnterprise, match="deleted_records_days"
        ),
    ):
        retention_services.save_retention_settings(
            org_a, changes={"deleted_records_days": 10}, actor=admin_a
        )


def test_enterprise_custom_terms_shorten_the_window_and_are_audited(
    make_org, make_member, soft_deleted
):
    org = make_org(plan=Organization.Plan.ENTERPRISE)
    admin = make_member(org, role="admin")
    with org_context(org):
        retention_services.save_retention_settings(
            org, changes={"deleted_records_days": 10}, actor=admin
        )
        event = AuditEntry.objects.get(action=Action.RETENTION_SETTINGS_CHANGED)
    assert event.metadata == {
        "fields": ["deleted_records_days"],
        "deleted_records_days": 10,
    }
    lead = soft_deleted(org, Lead)

    _sweep_at(T0 + timedelta(days=8) - MINUTE, org)
    assert _exists(org, Lead, lead.pk)
    _sweep_at(T0 + timedelta(days=8) + MINUTE, org)
    assert not _exists(org, Lead, lead.pk)


def test_months_before_clamps_to_the_end_of_a_shorter_month():
    moment = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)

    assert retention.months_before(moment, 1) == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    assert retention.months_before(moment, 15) == datetime(
        2024, 12, 31, 9, 0, tzinfo=UTC
    )
    assert retention.months_before(moment, -11) == datetime(
        2027, 2, 28, 9, 0, tzinfo=UTC
    )


def test_the_effective_table_shows_every_row_with_the_organizations_terms(
    org_a, admin_a
):
    with org_context(org_a):
        retention_services.save_retention_settings(
            org_a, changes={"call_recording_months": 18}, actor=admin_a
        )
        from compliance.selectors import get_effective_table

        table = {row.key: row for row in get_effective_table(org_a)}

    assert list(table) == [
        "records",
        "recordings",
        "audit_log",
        "backups",
        "exports",
        "cancelled_account",
    ]
    assert table["recordings"].kept == "18 months" and table["recordings"].custom
    assert table["audit_log"].kept == "90 days (Pro plan)"
    assert table["cancelled_account"].kept.startswith("90 days")


def test_a_backup_is_kept_30_days_by_the_nightly_job_then_goes(settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    from clozup import backups
    from clozup.tasks import prune_backups_task

    settings.BACKUP_RETENTION_DAYS = 30
    storages["backups"].save(
        f"db/clozup-{T0:%Y%m%dT%H%M%SZ}.dump", ContentFile(b"dump")
    )

    with time_machine.travel(T0 + timedelta(days=30) - MINUTE, tick=False):
        assert prune_backups_task() == 0
    assert len(backups.list_backups()) == 1

    with time_machine.travel(T0 + timedelta(days=30) + MINUTE, tick=False):
        assert prune_backups_task() == 1
    assert backups.list_backups() == []
