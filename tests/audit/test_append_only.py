"""The audit log can be added to and read, nothing else, even by the owner."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from audit.models import AuditCheckpoint, AuditEntry
from clozup.tenancy import org_context


def record(org, n=1, **fields):
    with org_context(org):
        for _ in range(n):
            audit.record_event(Action.RECORD_UPDATED, organization=org, **fields)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET action = 'record.deleted'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
    ],
)
def test_the_app_role_cannot_change_or_remove_entries(org_a, statement):
    record(org_a)

    with org_context(org_a):
        with pytest.raises(DatabaseError, match="permission denied"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
        assert AuditEntry.objects.count() >= 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET metadata = '{}'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
    ],
)
def test_even_the_owner_is_refused_by_the_trigger(committed_db, make_org, statement):
    org = make_org()
    owner = connections["owner"]

    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(using="owner"), owner.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('app.current_org_id', %s, true)", [str(org.pk)]
            )
            cursor.execute(statement)
            assert cursor.rowcount > 0, "the statement must have had rows to change"


def _tamper(org, seq, metadata):
    owner = connections["owner"]
    with transaction.atomic(using="owner"), owner.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('app.current_org_id', %s, true)", [str(org.pk)]
        )
        cursor.execute(
            "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only"
        )
        cursor.execute(
            "UPDATE audit_auditentry SET metadata = %s"
            " WHERE organization_id = %s AND seq = %s",
            [metadata, org.pk, seq],
        )
        assert cursor.rowcount == 1
        cursor.execute(
            "ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only"
        )


def test_an_untouched_chain_verifies(committed_db, make_org, capsys):
    org = make_org()
    record(org, 5)

    call_command("verify_audit", org=org.slug)

    # Creation (organization, owner), the five, and verify_audit's own run.
    assert "8 audit entries" in capsys.readouterr().out


def test_tampering_with_one_entry_is_reported_by_its_number(committed_db, make_org):
    org = make_org()
    record(org, 5, metadata={"fields": ["status"]})
    _tamper(org, 4, '{"fields": ["owner"]}')

    with pytest.raises(CommandError, match=r"entry #4 of .* contents or its link"):
        call_command("verify_audit", org=org.slug)


def test_a_removed_entry_in_the_middle_is_reported(committed_db, make_org):
    org = make_org()
    record(org, 5)
    owner = connections["owner"]
    with transaction.atomic(using="owner"), owner.cursor() as cursor:
        cursor.execute("SELECT set_config('audit.removal_allowed', 'on', true)")
        cursor.execute(
            "SELECT set_config('app.current_org_id', %s, true)", [str(org.pk)]
        )
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = 3")
        assert cursor.rowcount == 1

    with pytest.raises(CommandError, match=r"entry #4 .*expected entry #3"):
        call_command("verify_audit", org=org.slug)


def test_retention_removes_old_entries_and_the_chain_still_verifies(db, make_org):
    with time_machine.travel(timezone.now() - timedelta(days=100), tick=False):
        org = make_org()
        record(org, 30)
    record(org, 3)
    cutoff = timezone.now() - timedelta(days=90)

    with org_context(org):
        removed = []
        while batch := audit.remove_entries_before(org, cutoff, batch_size=7):
            removed.append(batch)
        remaining = list(AuditEntry.objects.order_by("seq"))
        checkpoint = AuditCheckpoint.objects.order_by("-seq").first()
        result = audit.verify_chain(org)

    assert max(removed) <= 7 and len(removed) > 1
    assert len(remaining) == 3
    assert remaining[0].seq == checkpoint.seq + 1
    assert audit.entry_hash(remaining[0], checkpoint.hash) == remaining[0].hash
    assert result.ok and result.verified == 3


def test_retention_never_removes_an_entry_newer_than_the_cutoff(db, make_org):
    org = make_org()  # its creation entries are recent
    with time_machine.travel(timezone.now() - timedelta(days=100), tick=False):
        record(org, 5)

    with org_context(org):
        removed = audit.remove_entries_before(org, timezone.now() - timedelta(days=90))
        assert AuditEntry.objects.count() == 7

    assert removed == 0


def test_retention_only_runs_in_the_organizations_own_context(org_a, org_b):
    record(org_a)

    with org_context(org_b):
        with pytest.raises(DatabaseError, match="own context"):
            with transaction.atomic():
                audit.remove_entries_before(org_a, timezone.now())


def test_metadata_refuses_values_that_are_not_ids_counts_or_names(org_a):
    with org_context(org_a):
        with pytest.raises(audit.InvalidAuditEvent, match="metadata.amount"):
            audit.record_event(
                Action.RECORD_UPDATED, organization=org_a, metadata={"amount": 1.5}
            )
        with pytest.raises(audit.InvalidAuditEvent, match="action"):
            audit.record_event("lead.stolen", organization=org_a)
