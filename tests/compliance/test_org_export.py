"""The export of a whole organization: every table, only its rows, streamed."""

import csv
import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEntry
from clozup.models import IntegrationCredential
from clozup.tenancy import org_context
from compliance.services import org_export

pytestmark = pytest.mark.django_db

EXPORT_URL = "admin:compliance_organization_export"


@pytest.fixture
def two_orgs(org_a, org_b, make_lead):
    make_lead(org_a, first_name="=HYPERLINK(1)", last_name='Back\\slash "quoted"')
    make_lead(org_a, first_name="Ada")
    make_lead(org_b, first_name="Bea")
    with org_context(org_a):
        IntegrationCredential.objects.create(
            organization=org_a, provider="hubspot", secret="sk-live-very-secret"
        )
    return org_a, org_b


def export_file(tmp_path, organization, export_format):
    out = tmp_path / f"export-{export_format}.zip"
    call_command(
        "export_org",
        org=organization.slug,
        out=str(out),
        format=export_format,
        reason="TICKET-1",
        stdout=io.StringIO(),
    )
    return zipfile.ZipFile(out)


def test_the_csv_export_holds_every_table_with_only_this_organizations_rows(
    two_orgs, tmp_path
):
    org_a, _ = two_orgs

    archive = export_file(tmp_path, org_a, "csv")

    tables = {model._meta.db_table for model in org_export.exported_models()}
    assert {name.rsplit(".", 1)[0] for name in archive.namelist()} == tables | {
        "manifest"
    }
    leads = list(csv.DictReader(io.StringIO(archive.read("crm_lead.csv").decode())))
    assert sorted(lead["first_name"] for lead in leads) == ["'=HYPERLINK(1)", "Ada"]
    assert {lead["organization_id"] for lead in leads} == {str(org_a.pk)}
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["rows"]["crm_lead"] == 2
    credentials = archive.read("clozup_integrationcredential.csv").decode()
    assert "hubspot" in credentials and "sk-live" not in credentials
    assert "secret" not in credentials.splitlines()[0]


def test_the_json_export_is_one_object_per_row(two_orgs, tmp_path):
    org_a, _ = two_orgs

    archive = export_file(tmp_path, org_a, "json")

    lines = archive.read("crm_lead.ndjson").decode().splitlines()
    leads = [json.loads(line) for line in lines]
    assert sorted(lead["first_name"] for lead in leads) == ["=HYPERLINK(1)", "Ada"]
    assert 'Back\\slash "quoted"' in [lead["last_name"] for lead in leads]


def test_the_export_is_audited(two_orgs, tmp_path):
    org_a, _ = two_orgs

    export_file(tmp_path, org_a, "csv")

    with org_context(org_a):
        event = AuditEntry.objects.get(action=Action.EXPORT_REQUESTED)
    assert event.metadata == {
        "kind": "organization",
        "format": "csv",
        "reason": "TICKET-1",
    }


def test_an_admin_downloads_the_export_from_the_admin_panel(two_orgs, admin_client):
    response = admin_client.post(
        reverse(EXPORT_URL), {"format": "csv", "reason": "yearly audit"}
    )

    assert response.status_code == 200 and response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "crm_lead.csv" in archive.namelist()
    assert json.loads(archive.read("manifest.json"))["rows"]["crm_lead"] == 2


def test_a_rep_cannot_export_the_organization(two_orgs, client, rep_a):
    client.force_login(rep_a)

    response = client.post(
        reverse(EXPORT_URL), {"format": "csv", "reason": "curious"}, follow=True
    )

    assert response.status_code == 403
    with org_context(two_orgs[0]):
        assert not AuditEntry.objects.filter(action=Action.EXPORT_REQUESTED).exists()
