"""Subject exports: what they hold, and who may download them, once."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEntry
from clozup.tenancy import org_context
from compliance.models import SubjectExport
from compliance.services import exports

from .conftest import PDF, SUBJECT_EMAIL

pytestmark = pytest.mark.django_db


def open_zip(data: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return archive


@pytest.fixture
def export_for(eager_tasks, django_capture_on_commit_callbacks):
    """Ask for an export; the task runs (in-process) when the request commits."""

    def ask(organization, admin, *, email=SUBJECT_EMAIL, phone=""):
        with django_capture_on_commit_callbacks(execute=True):
            with org_context(organization):
                return exports.request_subject_export(
                    organization, email=email, phone=phone, actor=admin
                )

    return ask


def download(client, export):
    url = reverse("compliance:export-download", args=[export.public_id])
    return client.post(url)


def test_an_export_holds_only_its_own_organizations_data(
    export_for, person_in_a, person_in_b, admin_a, admin_client, bystander_in_a
):
    export = export_for(person_in_a.organization, admin_a)

    response = download(admin_client, export)

    assert response.status_code == 200
    archive = open_zip(b"".join(response.streaming_content))
    document = json.loads(archive.read("subject.json"))
    assert document["schema_version"] == exports.SCHEMA_VERSION
    records = document["records"]
    assert [lead["id"] for lead in records["leads"]] == [person_in_a.record.pk]
    assert records["contacts"] == []
    assert [a["id"] for a in records["activities"]] == [person_in_a.activity.pk]
    assert [d["id"] for d in records["deals"]] == [person_in_a.deal.pk]
    assert {row["organization_id"] for row in records["leads"]} == {
        person_in_a.organization.pk
    }
    # Nothing of org B's contact, deal or files, and not the bystander.
    text = archive.read("subject.json").decode()
    assert "Ola" not in text
    assert f'"organization_id": {person_in_b.organization.pk}' not in text
    names = archive.namelist()
    assert f"files/attachment-{person_in_a.attachment.pk}-quote.pdf" in names
    assert f"files/recording-{person_in_a.recording.pk}-call.wav" in names
    assert f"files/attachment-{person_in_b.attachment.pk}-quote.pdf" not in names
    assert (
        archive.read(f"files/attachment-{person_in_a.attachment.pk}-quote.pdf") == PDF
    )
    leads_csv = archive.read("leads.csv").decode().splitlines()
    assert leads_csv[0].startswith("id,organization_id,") and len(leads_csv) == 2
    audit_ids = {entry["target_id"] for entry in records["audit_entries"]}
    assert str(person_in_a.attachment.pk) in audit_ids
    assert set(records["audit_entries"][0]) == set(exports.AUDIT_COLUMNS)


def test_a_subject_is_found_by_phone_number_whatever_its_spelling(
    export_for, person_in_a, admin_a, admin_client
):
    export = export_for(
        person_in_a.organization,
        admin_a,
        email="nobody@elsewhere.example",
        phone="442079460123",
    )

    archive = open_zip(b"".join(download(admin_client, export).streaming_content))

    leads = json.loads(archive.read("subject.json"))["records"]["leads"]
    assert [lead["id"] for lead in leads] == [person_in_a.record.pk]


def test_the_export_is_stored_encrypted_and_audited(
    export_for, person_in_a, admin_a, private_storage
):
    export = export_for(person_in_a.organization, admin_a)

    with org_context(person_in_a.organization):
        export.refresh_from_db()
        actions = list(
            AuditEntry.objects.filter(
                target_type="compliance.subjectexport", target_id=str(export.pk)
            )
            .order_by("id")
            .values_list("action", flat=True)
        )
    assert export.status == SubjectExport.Status.READY
    at_rest = (private_storage / export.storage_name).read_bytes()
    assert b"PK\x03\x04" not in at_rest and SUBJECT_EMAIL.encode() not in at_rest
    assert actions == [Action.EXPORT_REQUESTED, Action.EXPORT_COMPLETED]
    assert export.counts["leads"] == 1 and export.counts["files"] == 2


def test_the_download_link_works_once_and_only_for_the_admin_who_asked(
    export_for, person_in_a, admin_a, make_member, client
):
    from clozup.models import Membership

    export = export_for(person_in_a.organization, admin_a)
    other_admin = make_member(person_in_a.organization, role=Membership.Role.ADMIN)

    client.force_login(other_admin)
    refused = download(client, export)
    client.force_login(admin_a)
    first = download(client, export)
    b"".join(first.streaming_content)
    second = download(client, export)

    assert refused.status_code == 404
    assert first.status_code == 200
    assert second.status_code == 404
    with org_context(person_in_a.organization):
        assert (
            AuditEntry.objects.filter(
                action=Action.EXPORT_DOWNLOADED, target_id=str(export.pk)
            ).count()
            == 1
        )


def test_an_expired_link_no_longer_downloads_and_its_file_is_removed(
    export_for, person_in_a, admin_a, admin_client
):
    export = export_for(person_in_a.organization, admin_a)
    with org_context(person_in_a.organization):
        SubjectExport.objects.filter(pk=export.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )

    response = download(admin_client, export)
    with org_context(person_in_a.organization):
        removed = exports.remove_spent_exports()
        export.refresh_from_db()
        still_there = storages["private"].exists(exports.export_storage_name(export))

    assert response.status_code == 404
    assert removed == 1 and not still_there
    assert export.status == SubjectExport.Status.EXPIRED and export.email == ""


def test_building_an_export_twice_makes_one_file(
    person_in_a, admin_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        with org_context(person_in_a.organization):
            export = exports.request_subject_export(
                person_in_a.organization, email=SUBJECT_EMAIL, actor=admin_a
            )

    with org_context(person_in_a.organization):
        exports.build_subject_export(export.pk)
        exports.build_subject_export(export.pk)
        folder = f"org-{person_in_a.organization.pk}/{exports.EXPORT_FOLDER}"
        _, names = storages["private"].listdir(folder)
    assert len(callbacks) == 1
    assert names == [f"{export.public_id}.zip"]
