"""Support commands: enforce_retention, cancel_org, reactivate_org, legal_hold;
and retention_status for monitoring."""

import getpass
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from audit.actions import Action
from audit.models import AuditEntry
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance.models import LegalHold
from crm.models import Lead

pytestmark = pytest.mark.django_db

REASON = "TICKET-8080"
T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def events(organization, action):
    with org_context(organization):
        return list(AuditEntry.objects.filter(action=action).order_by("seq"))


@pytest.fixture
def old_deleted_lead(make_lead, make_member, attach):
    """A lead deleted at T0, with an attachment when asked."""

    def make(org, *, with_file=False):
        lead = make_lead(org)
        if with_file:
            attach(lead, make_member(org))
        with org_context(org):
            Lead.objects.filter(pk=lead.pk).update(deleted_at=T0)
        return lead

    return make


def _leads(org) -> int:
    with org_context(org):
        return Lead._base_manager.count()


def test_a_dry_run_prints_counts_per_table_and_changes_nothing(org_a, old_deleted_lead):
    old_deleted_lead(org_a, with_file=True)

    with time_machine.travel(T0 + timedelta(days=29), tick=False):
        output = run(
            "enforce_retention", "--org", org_a.slug, "--reason", REASON, "--dry-run"
        )

    assert "  crm_lead: 1 row(s) would remove" in output
    assert "  crm_attachment: 1 row(s) would remove" in output
    assert "  private storage: 1 file(s) would remove" in output
    assert f"dry run: {org_a.slug}: 2 row(s) and 1 file(s) would remove" in output
    assert _leads(org_a) == 1
    (run_event,) = events(org_a, Action.SUPPORT_COMMAND_RUN)
    assert run_event.metadata["command"] == "enforce_retention"
    assert "dry_run" in run_event.metadata["options"]
    assert run_event.actor_label == f"operator:{getpass.getuser()}"
    assert not events(org_a, Action.RETENTION_SWEEP)


def test_enforce_retention_purges_and_is_audited(org_a, old_deleted_lead):
    old_deleted_lead(org_a, with_file=True)

    with time_machine.travel(T0 + timedelta(days=29), tick=False):
        output = run("enforce_retention", "--org", org_a.slug, "--reason", REASON)

    assert f"{org_a.slug}: 2 row(s) and 1 file(s) removed" in output
    assert _leads(org_a) == 0
    assert events(org_a, Action.SUPPORT_COMMAND_RUN)
    (sweep,) = events(org_a, Action.RETENTION_SWEEP)
    assert sweep.metadata["rows"] == {"crm_attachment": 1, "crm_lead": 1}


def test_enforce_retention_all_goes_through_every_organization(
    org_a, org_b, old_deleted_lead
):
    old_deleted_lead(org_a, with_file=True)
    old_deleted_lead(org_b)

    with time_machine.travel(T0 + timedelta(days=29), tick=False):
        output = run("enforce_retention", "--all", "--reason", REASON)

    assert _leads(org_a) == _leads(org_b) == 0
    assert f"{org_b.slug}: 1 row(s) and 0 file(s) removed" in output
    assert events(org_b, Action.SUPPORT_COMMAND_RUN)


def test_enforce_retention_needs_org_or_all_and_a_reason(org_a):
    with pytest.raises(CommandError, match="--org --all"):
        run("enforce_retention", "--reason", REASON)
    with pytest.raises(CommandError, match="--reason"):
        run("enforce_retention", "--org", org_a.slug)
    with pytest.raises(CommandError, match="--org: no organization"):
        run("enforce_retention", "--org", "nope", "--reason", REASON)


def test_cancel_and_reactivate_org_are_audited_with_the_operator(org_a):
    with time_machine.travel(T0, tick=False):
        output = run("cancel_org", "--org", org_a.slug, "--reason", REASON)
    assert output.strip() == (
        f"{org_a.slug}: active -> cancelled; read-only now, purge due"
        " 2026-06-30 10:00 UTC"
    )
    org_a.refresh_from_db()
    assert org_a.status == Organization.Status.CANCELLED

    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        output = run("reactivate_org", "--org", org_a.slug, "--reason", REASON)

    assert output.strip() == f"{org_a.slug}: cancelled -> active; writable again"
    (cancelled,) = events(org_a, Action.ORGANIZATION_CANCELLED)
    (reactivated,) = events(org_a, Action.ORGANIZATION_REACTIVATED)
    assert (
        cancelled.actor_label
        == reactivated.actor_label
        == (f"operator:{getpass.getuser()}")
    )
    with pytest.raises(CommandError, match="not cancelled"):
        run("reactivate_org", "--org", org_a.slug, "--reason", REASON)


def test_legal_hold_set_list_and_clear(org_a, make_lead):
    lead = make_lead(org_a)

    output = run(
        "legal_hold",
        "set",
        "--org",
        org_a.slug,
        "--reason",
        REASON,
        "--scope",
        "record",
        "--record",
        f"crm.lead:{lead.pk}",
    )
    with org_context(org_a):
        hold = LegalHold.objects.get()
    assert output.strip() == f"{org_a.slug}: hold #{hold.pk} (record) placed"
    assert hold.placed_by == f"operator:{getpass.getuser()}"
    assert f"crm.lead:{lead.pk}" in run(
        "legal_hold", "list", "--org", org_a.slug, "--reason", REASON
    )

    run(
        "legal_hold",
        "clear",
        "--org",
        org_a.slug,
        "--reason",
        REASON,
        "--hold",
        str(hold.pk),
    )

    with org_context(org_a):
        hold = LegalHold.objects.get()
    assert hold.released_at is not None
    changes = events(org_a, Action.LEGAL_HOLD_CHANGED)
    assert [event.metadata["state"] for event in changes] == ["placed", "released"]


def test_legal_hold_names_the_bad_argument(org_a):
    with pytest.raises(CommandError, match="--record"):
        run(
            "legal_hold",
            "set",
            "--org",
            org_a.slug,
            "--reason",
            REASON,
            "--scope",
            "record",
            "--record",
            "crm.lead",
        )
    with pytest.raises(CommandError, match="--email"):
        run(
            "legal_hold",
            "set",
            "--org",
            org_a.slug,
            "--reason",
            REASON,
            "--scope",
            "person",
            "--email",
            "no-at-sign",
        )
    with pytest.raises(CommandError, match="--hold"):
        run(
            "legal_hold",
            "clear",
            "--org",
            org_a.slug,
            "--reason",
            REASON,
            "--hold",
            "999",
        )


def test_retention_status_reports_ages_and_fails_when_a_rule_is_late(
    org_a, old_deleted_lead
):
    old_deleted_lead(org_a)

    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        output = run("retention_status", "--org", org_a.slug)
    assert "  records: oldest 10.0 days, deadline in 20.0 days [ok]" in output

    with (
        time_machine.travel(T0 + timedelta(days=29, hours=12), tick=False),
        pytest.raises(CommandError, match="1 retention rule"),
    ):
        run("retention_status", "--org", org_a.slug)


def test_retention_status_flags_an_expired_export_whose_file_is_still_there(org_a):
    from compliance.models import SubjectExport

    with org_context(org_a):
        SubjectExport.objects.create(
            organization=org_a,
            status=SubjectExport.Status.READY,
            subject_hash="0" * 64,
            storage_name=f"org-{org_a.pk}/exports/x.zip",
            expires_at=T0,
        )

    with time_machine.travel(T0 + timedelta(hours=20), tick=False):
        output = run("retention_status", "--org", org_a.slug)
    assert "  exports: oldest 0.8 days, deadline in 0.2 days [ok]" in output

    with (
        time_machine.travel(T0 + timedelta(hours=25), tick=False),
        pytest.raises(CommandError, match="1 retention rule"),
    ):
        run("retention_status", "--org", org_a.slug)
