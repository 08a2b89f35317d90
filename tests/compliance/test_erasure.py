"""Erasure: of one person everywhere in an organization, of one lead or contact,
and of a whole organization. Afterwards nothing about the person is found by
any list, search, export or raw SQL, and their files are gone."""

import io
import json

import pytest
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEntry
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance.models import (
    ConsentEvent,
    DataSubjectRequestEvent,
    ErasureReceipt,
    SubjectExport,
    Suppression,
)
from compliance.selectors.consent import is_suppressed
from compliance.selectors.subjects import find_subject
from compliance.services import consent, exports, purge
from compliance.services import requests as request_services
from crm.models import Activity, Contact, Deal, Lead
from crm.selectors import records as record_selectors

from .conftest import SUBJECT_EMAIL, SUBJECT_NAME, SUBJECT_PHONE

pytestmark = pytest.mark.django_db

TEXT_TYPES = ("character varying", "text", "jsonb", "json")


def organization_text_columns() -> dict[str, list[str]]:
    """Every table with an organization_id column, and its text columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name, c.data_type"
            " FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            " AND c.table_name IN (SELECT table_name FROM information_schema.columns"
            "  WHERE column_name = 'organization_id'"
            "  AND table_schema = current_schema())"
            " ORDER BY 1, 2"
        )
        tables: dict[str, list[str]] = {}
        for table, column, data_type in cursor.fetchall():
            tables.setdefault(table, [])
            if data_type in TEXT_TYPES:
                tables[table].append(column)
    return tables


def raw_sql_mentions(organization, needles) -> list[str]:
    """Where, in any organization table, a text column holds one of the needles."""
    found = []
    with org_context(organization), connection.cursor() as cursor:
        for table, columns in organization_text_columns().items():
            for column in columns:
                for needle in needles:
                    cursor.execute(
                        f'SELECT count(*) FROM "{table}" WHERE organization_id = %s'
                        f' AND "{column}"::text ILIKE %s',
                        [organization.pk, f"%{needle}%"],
                    )
                    if cursor.fetchone()[0]:
                        found.append(f"{table}.{column}: {needle}")
    return found


NEEDLES = [SUBJECT_EMAIL, f"{SUBJECT_NAME[0]}", f"{SUBJECT_NAME[1]}", "7946 0123"]


def stored_names(person) -> list[str]:
    return [person.attachment.storage_name, person.recording.storage_name]


def files_exist(organization, names) -> list[bool]:
    with org_context(organization):
        return [storages["private"].exists(name) for name in names]


@pytest.fixture
def history_in_b(person_in_b, org_b, django_capture_on_commit_callbacks):
    """A verified request, a consent event and a finished export about Jane in B."""
    with org_context(org_b):
        dsr = request_services.record_request(
            org_b,
            kind="erasure",
            email=SUBJECT_EMAIL,
            phone=SUBJECT_PHONE,
            details=f"Please erase {SUBJECT_NAME[0]} {SUBJECT_NAME[1]}",
            verification_method="document",
            actor="operator:support",
        )
        consent.record_consent_event(
            org_b,
            address=SUBJECT_EMAIL,
            channel="email",
            purpose="marketing",
            action="grant",
            source="form",
            lawful_basis="consent",
            evidence={"text_shown": f"Yes {SUBJECT_NAME[0]}, send me news"},
            actor=None,
            contact=person_in_b.record,
        )
        export = exports.request_subject_export(
            org_b, email=SUBJECT_EMAIL, actor="operator:support", dsr=dsr
        )
        export = exports.build_subject_export(export.pk)
    return dsr, export


def erase_in_b(org_b, **options):
    out = io.StringIO()
    call_command(
        "erase_subject",
        org=org_b.slug,
        email=SUBJECT_EMAIL,
        phone=SUBJECT_PHONE,
        reason="DSR-42",
        stdout=out,
        **options,
    )
    return out.getvalue()


def test_erasing_in_one_organization_leaves_the_other_untouched(
    person_in_a, person_in_b, history_in_b, org_a, org_b, admin_a
):
    erase_in_b(org_b)

    with org_context(org_a):
        kept = find_subject(email=SUBJECT_EMAIL)
        assert kept.lead_ids == [person_in_a.record.pk]
        assert kept.activities().count() == 1
        assert not is_suppressed(org_a, SUBJECT_EMAIL)
    assert files_exist(org_a, stored_names(person_in_a)) == [True, True]
    assert raw_sql_mentions(org_a, [SUBJECT_EMAIL])


def test_after_an_erasure_nothing_about_the_person_is_found_anywhere(
    person_in_b, history_in_b, org_b, bystander_in_a
):
    dsr, export = history_in_b
    assert raw_sql_mentions(org_b, NEEDLES)

    output = erase_in_b(org_b)

    assert "erased (receipt" in output
    # Raw SQL over every organization table, every text column.
    assert raw_sql_mentions(org_b, NEEDLES) == []
    # Lists and searches.
    with org_context(org_b):
        assert record_selectors.list_contacts(q=SUBJECT_EMAIL).items == []
        assert record_selectors.list_contacts(q=SUBJECT_NAME[1]).items == []
        assert record_selectors.list_contacts(q="", deleted=True).items == []
        assert find_subject(email=SUBJECT_EMAIL, phone=SUBJECT_PHONE).is_empty
        assert not Contact._base_manager.exists()
        assert not Activity._base_manager.exists()
        # The deal stays, no longer linked to anyone.
        assert Deal.objects.get().contact_id is None
    # Files: the attachment, the recording and the earlier export.
    names = [*stored_names(person_in_b), export.storage_name]
    assert files_exist(org_b, names) == [False, False, False]
    with org_context(org_b):
        assert not SubjectExport.objects.exists()
        # The request stays, without the address; the ledger keeps only the hash.
        dsr.refresh_from_db()
        assert (dsr.email, dsr.phone, dsr.details) == ("", "", "")
        assert dsr.subject_hash
        assert not ConsentEvent.objects.exists()
        assert Suppression.objects.filter(source="erasure").count() == 2
        assert is_suppressed(org_b, SUBJECT_EMAIL)


def test_the_erasure_receipt_and_audit_event_hold_counts_not_personal_data(
    person_in_b, history_in_b, org_b
):
    erase_in_b(org_b)

    with org_context(org_b):
        receipt = ErasureReceipt.objects.get()
        event = AuditEntry.objects.get(action=Action.SUBJECT_ERASED)
    assert receipt.rows["crm_contact"] == 1
    assert receipt.rows["crm_activity"] == 1
    assert receipt.rows["compliance_subjectexport"] == 1
    assert receipt.files == {"private": 3}
    assert receipt.actor_label.startswith("operator:") and receipt.reason == "DSR-42"
    assert event.target_id == str(receipt.pk)
    text = json.dumps([receipt.rows, receipt.files, event.metadata])
    for needle in NEEDLES:
        assert needle not in text


def test_a_dry_run_erases_nothing(person_in_b, org_b):
    output = erase_in_b(org_b, dry_run=True)

    assert "dry run: would erase leads 0, contacts 1, activities 1" in output
    with org_context(org_b):
        assert Contact.objects.count() == 1
        assert not ErasureReceipt.objects.exists()
    assert files_exist(org_b, stored_names(person_in_b)) == [True, True]


def test_erasing_an_unknown_address_names_the_argument(org_b):
    with pytest.raises(CommandError, match="--email"):
        call_command(
            "erase_subject",
            org=org_b.slug,
            email="nobody@nowhere.example",
            reason="DSR-43",
            stdout=io.StringIO(),
        )


def test_an_admin_erases_a_lead_after_confirming(
    person_in_a, admin_client, org_a, bystander_in_a
):
    url = reverse("admin:crm_lead_changelist")
    chosen = {
        "action": "erase_permanently",
        "_selected_action": [person_in_a.record.pk],
    }

    asked = admin_client.post(url, chosen)
    with org_context(org_a):
        still_there = Lead.objects.filter(pk=person_in_a.record.pk).exists()
    done = admin_client.post(url, {**chosen, "confirmed": "yes"})

    assert asked.status_code == 200 and b"Yes, erase for good" in asked.content
    assert still_there
    assert done.status_code == 302
    with org_context(org_a):
        assert list(Lead.objects.values_list("pk", flat=True)) == [bystander_in_a.pk]
        receipt = ErasureReceipt.objects.get()
    assert receipt.scope == "lead" and receipt.actor_id is not None
    assert files_exist(org_a, stored_names(person_in_a)) == [False, False]
    page = admin_client.get(
        reverse("admin:compliance_erasurereceipt_change", args=[receipt.pk])
    )
    assert page.status_code == 200 and b"crm_lead" in page.content


def test_an_admin_erases_a_requests_subject_from_the_admin_panel(
    person_in_a, admin_client, org_a, admin_a
):
    with org_context(org_a):
        dsr = request_services.record_request(
            org_a,
            kind="erasure",
            email=SUBJECT_EMAIL,
            verification_method="email_link",
            actor=admin_a,
        )
    url = reverse("admin:compliance_datasubjectrequest_changelist")
    chosen = {"action": "erase_subject", "_selected_action": [dsr.pk]}

    admin_client.post(url, chosen)
    done = admin_client.post(url, {**chosen, "confirmed": "yes"})

    with org_context(org_a):
        receipt = ErasureReceipt.objects.get()
        kinds = list(
            DataSubjectRequestEvent.objects.filter(request=dsr).values_list(
                "kind", flat=True
            )
        )
    assert done.status_code == 302 and done.url.endswith(f"/{receipt.pk}/change/")
    assert receipt.request_id == dsr.pk
    assert raw_sql_mentions(org_a, NEEDLES) == []
    assert kinds == ["received", "verified", "erased"]


def test_purge_org_refuses_an_active_organization_without_force(org_b):
    with pytest.raises(CommandError, match="--force"):
        call_command("purge_org", org=org_b.slug, reason="T-1", stdout=io.StringIO())


def test_purging_an_organization_leaves_no_row_and_no_file(
    person_in_a, person_in_b, history_in_b, org_a, org_b
):
    dsr, export = history_in_b
    names_b = [*stored_names(person_in_b), export.storage_name]

    out = io.StringIO()
    call_command("purge_org", org=org_b.slug, reason="T-2", force=True, stdout=out)

    assert "every organization table checked empty" in out.getvalue()
    assert purge.count_organization_rows(org_b.pk) == {}
    with org_context(org_b), connection.cursor() as cursor:
        for table in organization_text_columns():
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE organization_id = %s',
                [org_b.pk],
            )
            assert cursor.fetchone()[0] == 0, table
    assert not Organization.objects.filter(pk=org_b.pk).exists()
    assert files_exist(org_b, names_b) == [False, False, False]
    assert files_exist(org_a, stored_names(person_in_a)) == [True, True]
    with org_context(org_a):
        assert Lead.objects.filter(pk=person_in_a.record.pk).exists()
