"""Org admins read their own audit log in the Admin Panel, and nothing else."""

import csv
import io

from django.urls import reverse

from audit import services as audit
from audit.actions import Action
from audit.models import AuditEntry
from clozup.tenancy import org_context
from crm.models import Lead


def test_an_admin_lists_only_their_organizations_entries(client, admin_a, org_b):
    with org_context(org_b):
        audit.record_event(
            Action.RECORD_PURGED, organization=org_b, target=("crm.lead", 424242)
        )
    client.force_login(admin_a)

    response = client.get(reverse("admin:audit_auditentry_changelist"))

    assert response.status_code == 200
    assert b"member.added" in response.content
    assert b"424242" not in response.content


def test_guessing_another_organizations_entry_id_shows_nothing(client, admin_a, org_b):
    with org_context(org_b):
        foreign = audit.record_event(
            Action.RECORD_PURGED, organization=org_b, target=("crm.lead", 424242)
        )
    client.force_login(admin_a)

    url = reverse("admin:audit_auditentry_change", args=[foreign.pk])
    response = client.get(url, follow=True)

    assert b"424242" not in response.content
    assert foreign.hash.encode() not in response.content


def test_the_list_filters_by_action_actor_and_date_range(client, admin_a, rep_a, org_a):
    with org_context(org_a):
        audit.record_event(
            Action.RECORD_DELETED,
            organization=org_a,
            actor=rep_a,
            target=("crm.lead", 7),
        )
    client.force_login(admin_a)
    url = reverse("admin:audit_auditentry_changelist")

    def actions_listed(**params):
        response = client.get(url, params)
        return [entry.action for entry in response.context["cl"].result_list]

    assert actions_listed(action__exact="record.deleted") == ["record.deleted"]
    assert actions_listed(actor=str(rep_a.pk)) == ["record.deleted"]
    assert actions_listed(**{"from": "2999-01-01"}) == []
    assert "member.added" in actions_listed(to="2999-01-01")
    # The admin drops a filter it cannot apply and says so.
    assert client.get(url, {"from": "yesterday"}).status_code == 302


def test_the_csv_export_holds_the_filtered_entries_neutralised(client, admin_a, org_a):
    with org_context(org_a):
        audit.record_event(
            Action.RECORD_UPDATED,
            organization=org_a,
            target=("crm.lead", 9),
            metadata={"fields": ["=cmd|' /C calc'!A0"]},
        )
    client.force_login(admin_a)

    response = client.get(
        reverse("admin:audit_auditentry_export"), {"action__exact": "record.updated"}
    )
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))

    assert response["Content-Type"] == "text/csv"
    assert [row["action"] for row in rows] == ["record.updated"]
    assert not rows[0]["metadata"].startswith("=")


def test_a_rep_cannot_read_the_audit_log(client, rep_a):
    client.force_login(rep_a)

    response = client.get(reverse("admin:audit_auditentry_changelist"), follow=True)

    assert response.status_code == 403


def test_entries_cannot_be_added_changed_or_deleted_in_the_panel(
    client, admin_a, org_a
):
    with org_context(org_a):
        entry = AuditEntry.objects.first()
    client.force_login(admin_a)

    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    delete = client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]))
    assert delete.status_code == 403


def test_lead_changes_in_the_panel_leave_no_personal_data_in_the_log(
    client, admin_a, org_a
):
    client.force_login(admin_a)
    person = {"first_name": "Gwendolyn", "last_name": "Quarrington", "status": "new"}
    email = "gwendolyn.q" + chr(64) + "example.org"

    client.post(reverse("admin:crm_lead_add"), {**person, "email": email})
    with org_context(org_a):
        lead = Lead.objects.get(last_name="Quarrington")
    client.post(
        reverse("admin:crm_lead_change", args=[lead.pk]),
        {**person, "email": email, "title": "Head of Quarrington Buying"},
    )
    client.post(reverse("admin:crm_lead_delete", args=[lead.pk]), {"post": "yes"})

    with org_context(org_a):
        lead.refresh_from_db()
        rows = list(
            AuditEntry.objects.filter(target_type="crm.lead").values_list(
                "action", "metadata", "actor_label", "target_id"
            )
        )
    stored = repr(rows)
    assert [row[0] for row in rows] == [
        "record.created",
        "record.updated",
        "record.deleted",
    ]
    assert rows[1][1]["fields"] == ["title"]
    assert lead.deleted_at is not None
    for secret in ("Gwendolyn", "Quarrington", email, "gwendolyn"):
        assert secret not in stored
