"""Every change a rep makes, and every import, leaves an audit event without
personal data in it."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEntry
from clozup.tenancy import org_context
from crm.models import Lead, Stage
from crm.services import imports

pytestmark = pytest.mark.django_db


def events(org, *, action=None):
    with org_context(org):
        entries = AuditEntry.objects.order_by("seq")
        if action:
            entries = entries.filter(action=action)
        return list(entries)


def test_creating_editing_deleting_and_restoring_a_lead_are_audited(
    rep_client, org_a, rep_a
):
    rep_client.post(
        reverse("crm:lead-create"),
        {"first_name": "Ada", "email": "ada@example.com", "status": "new"},
    )
    with org_context(org_a):
        lead = Lead.objects.get()
    rep_client.post(
        reverse("crm:lead-edit", args=[lead.pk]),
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "status": "new",
            "owner": rep_a.pk,
        },
    )
    rep_client.post(reverse("crm:lead-delete", args=[lead.pk]))
    rep_client.post(reverse("crm:lead-restore", args=[lead.pk]))

    recorded = [
        (e.action, e.target_type, e.target_id, e.metadata.get("fields"))
        for e in events(org_a)
        if e.action.startswith("record.")
    ]
    assert recorded == [
        ("record.created", "crm.lead", str(lead.pk), ["email", "first_name", "status"]),
        ("record.updated", "crm.lead", str(lead.pk), ["last_name"]),
        ("record.deleted", "crm.lead", str(lead.pk), None),
        ("record.restored", "crm.lead", str(lead.pk), None),
    ]
    created = events(org_a, action="record.created")[0]
    assert created.actor_id == rep_a.pk and created.ip == "127.0.0.1"
    assert "ada@example.com" not in json.dumps([e.metadata for e in events(org_a)])


def test_moving_a_deal_records_the_fields_and_the_new_stage(rep_client, org_a):
    with org_context(org_a):
        stages = {s.name: s for s in Stage.objects.all()}
        from crm.models import Deal

        deal = Deal.objects.create(
            organization=org_a, title="D", stage=stages["Prospecting"]
        )

    rep_client.post(
        reverse("crm:deal-move", args=[deal.pk]), {"stage": stages["Won"].pk}
    )

    event = events(org_a, action="record.updated")[-1]
    assert event.metadata == {
        "fields": ["closed_at", "stage", "stage_entered_at"],
        "stage_id": stages["Won"].pk,
    }


def test_logging_a_note_and_downloading_a_file_are_audited(
    rep_client, org_a, make_lead
):
    lead = make_lead(org_a)
    rep_client.post(
        reverse("crm:activity-create", args=["leads", lead.pk]),
        {"kind": "note", "body": "Private words"},
    )
    rep_client.post(
        reverse("crm:file-upload", args=["leads", lead.pk]),
        {"kind": "attachment", "file": SimpleUploadedFile("a.txt", b"hello")},
    )
    with org_context(org_a):
        from crm.models import Attachment

        attachment = Attachment.objects.get()
    response = rep_client.get(reverse("crm:attachment-download", args=[attachment.pk]))
    b"".join(response.streaming_content)

    actions = [(e.action, e.target_type) for e in events(org_a)]
    assert ("record.created", "crm.activity") in actions
    assert ("record.created", "crm.attachment") in actions
    assert ("record.file_downloaded", "crm.attachment") in actions
    assert "Private words" not in json.dumps([e.metadata for e in events(org_a)])


def test_an_import_records_its_counts_and_a_rejected_one_its_failure(org_a, rep_a):
    good = b"Email\nada@example.com\n"
    bad = b"Email\nbroken\n"

    imports.import_files(
        org_a, [imports.ImportSource("l.csv", lambda: io.BytesIO(good))], actor=rep_a
    )
    imports.import_files(
        org_a, [imports.ImportSource("l.csv", lambda: io.BytesIO(bad))], actor=rep_a
    )
    imports.import_files(
        org_a,
        [imports.ImportSource("l.csv", lambda: io.BytesIO(good))],
        dry_run=True,
    )

    completed = events(org_a, action="import.completed")
    failed = events(org_a, action="import.failed")
    assert [e.metadata for e in completed] == [
        {
            "files": 1,
            "kinds": ["contacts"],
            "rows": 1,
            "rejected": 0,
            "created": 1,
            "updated": 0,
            "unchanged": 0,
        }
    ]
    assert failed[0].metadata["rejected"] == 1 and len(failed) == 1


def test_the_import_command_is_recorded_as_a_support_command_run(org_a, tmp_path):
    from django.core.management import call_command

    path = tmp_path / "leads.csv"
    path.write_text("Email\nada@example.com\n")

    call_command(
        "import_crm",
        "--org",
        org_a.slug,
        "--reason",
        "T-1",
        str(path),
        stdout=io.StringIO(),
    )

    run = events(org_a, action="support.command_run")[0]
    assert run.metadata["command"] == "import_crm" and run.metadata["reason"] == "T-1"
    assert events(org_a, action="import.completed")[0].actor_label.startswith(
        "operator:"
    )
