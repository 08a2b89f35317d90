"""Public transparency pages, the sub-processor change notices, DPA requests."""

import importlib
import re
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection

from audit.models import AuditEntry
from clozup.models import Membership
from clozup.tenancy import org_context
from compliance.models import DpaRequest, SubProcessor, SubProcessorChange
from compliance.services import transparency
from compliance.services.consent import record_consent_event
from tests.test_repository import MANGLED_ADDRESS

pytestmark = pytest.mark.django_db

migration = importlib.import_module(
    "compliance.migrations.0001_consent_ledger_outreach_transparency"
)


def test_the_security_page_serves_our_text_with_real_contact_addresses(client):
    page = client.get("/security/").content.decode()

    assert "<h1>Security &amp; Privacy</h1>" in page
    assert "<h2>GDPR Compliance</h2>" in page
    assert "security reports at security@clozup.example" in page
    assert MANGLED_ADDRESS not in page and "{{" not in page
    assert '<a href="/subprocessors/">' in page
    assert "<table>" in page


def test_the_privacy_page_names_the_privacy_contact(client):
    page = client.get("/privacy/").content.decode()

    assert "<h1>Privacy notice</h1>" in page
    assert "privacy@clozup.example" in page


def test_security_txt_has_the_rfc_9116_fields(client, settings):
    settings.SITE_URL = "https://app.clozup.test"

    response = client.get("/.well-known/security.txt")

    assert response["Content-Type"].startswith("text/plain")
    fields = dict(
        line.split(": ", 1) for line in response.content.decode().splitlines()
    )
    assert fields["Contact"] == "mailto:security@clozup.example"
    assert fields["Policy"] == "https://app.clozup.test/security/"
    assert fields["Canonical"] == "https://app.clozup.test/.well-known/security.txt"
    assert fields["Preferred-Languages"] == "en"
    expires = datetime.fromisoformat(fields["Expires"])
    assert fields["Expires"].endswith("Z")
    days = (expires - datetime.now(UTC)).days
    assert 0 < days < 365


def test_the_seed_names_hosting_email_and_the_ai_provider(client):
    SubProcessorChange.objects.all().delete()
    SubProcessor.objects.all().delete()

    migration.seed_sub_processors(apps, connection.schema_editor())
    migration.seed_sub_processors(apps, connection.schema_editor())

    names = set(SubProcessor.objects.values_list("name", flat=True))
    assert names == {
        "Amazon Web Services (hosting)",
        "Amazon Web Services (Amazon SES)",
        "Clerk",
        "OpenAI",
    }
    assert SubProcessorChange.objects.filter(notified_at=None).count() == 0
    page = client.get("/subprocessors/").content.decode()
    assert "Amazon Web Services (Amazon SES)" in page
    assert "On the first published list." in page


def test_a_change_is_logged_and_announced_once_to_organizations_that_asked(
    client,
    org_a,
    org_b,
    admin_a,
    rep_a,
    make_member,
    django_capture_on_commit_callbacks,
):
    admin_b = make_member(org_b, role=Membership.Role.ADMIN)
    with org_context(org_a):
        transparency.set_sub_processor_notices(org_a, subscribed=True, actor=admin_a)
        audited = AuditEntry.objects.get(action="settings.subprocessor_notices_changed")

    with django_capture_on_commit_callbacks() as callbacks:
        change = transparency.save_sub_processor(
            name="Acme Analytics",
            purpose="Product analytics",
            data_processed="Users' ids",
            location="EU (Germany)",
            summary="Added for usage statistics.",
        )
    first = transparency.notify_sub_processor_change(change.pk)
    second = transparency.notify_sub_processor_change(change.pk)

    assert len(callbacks) == 1 and first == 1 and second == 0
    assert audited.metadata == {"subscribed": True}
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert admin_a.email in notice.bcc and rep_a.email not in notice.bcc
    assert admin_b.email not in notice.bcc
    assert "Acme Analytics" in notice.subject and "/subprocessors/" in notice.body
    page = client.get("/subprocessors/").content.decode()
    assert "Added: Acme Analytics. Added for usage statistics." in page


def test_a_removed_sub_processor_leaves_the_list_but_not_the_log(client):
    transparency.save_sub_processor(
        name="Old Mail",
        purpose="Email",
        data_processed="Addresses",
        location="EU",
        summary="Added.",
    )
    transparency.remove_sub_processor("Old Mail", summary="Replaced by SES.")

    page = client.get("/subprocessors/").content.decode()
    rows = re.findall(r"<tr><td>.*?</td>", page)
    assert not any("Old Mail" in row for row in rows)
    assert "Removed: Old Mail. Replaced by SES." in page
    with pytest.raises(transparency.UnknownSubProcessor, match="name"):
        transparency.remove_sub_processor("Old Mail", summary="again")


def test_an_admin_of_a_paid_plan_requests_a_dpa_in_the_admin_panel(
    client, org_a, admin_a, django_capture_on_commit_callbacks
):
    client.force_login(admin_a)
    form = {
        "legal_name": "Acme Sales GmbH",
        "company_address": "Hauptstrasse 1, Berlin",
        "signatory_name": "Dana Signer",
        "signatory_title": "CEO",
        "signatory_email": "dana@acme.example",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/compliance/dparequest/add/", form)

    assert response.status_code == 302
    with org_context(org_a):
        dpa = DpaRequest.objects.get()
        entry = AuditEntry.objects.get(action="compliance.dpa_requested")
    assert dpa.requested_by == admin_a and dpa.status == "requested"
    assert entry.target_id == str(dpa.pk)
    assert mail.outbox[-1].to == ["privacy@clozup.example"]
    assert "Dana" not in mail.outbox[-1].body


def test_a_free_plan_cannot_request_a_dpa(client, make_org, make_member):
    free = make_org(plan="free")
    admin = make_member(free, role=Membership.Role.ADMIN)
    client.force_login(admin)

    response = client.get("/admin/compliance/dparequest/add/")

    assert response.status_code == 403
    with pytest.raises(transparency.DpaNeedsPaidPlan, match="plan"):
        with org_context(free):
            transparency.request_dpa(free, actor=admin, legal_name="X")


def test_an_admin_opts_in_to_notices_in_the_admin_panel(client, org_a, admin_a):
    client.force_login(admin_a)

    added = client.post("/admin/compliance/subprocessornoticesubscription/add/", {})

    assert added.status_code == 302
    with org_context(org_a):
        entry = AuditEntry.objects.get(action="settings.subprocessor_notices_changed")
    assert entry.actor_id == admin_a.pk


def test_an_admin_reads_the_consent_ledger_but_cannot_change_it(client, org_a, admin_a):
    with org_context(org_a):
        event = record_consent_event(
            org_a,
            address="ledger@example.org",
            channel="email",
            purpose="all",
            action="withdraw",
            source="admin",
            lawful_basis="none",
            evidence={"ip": "198.51.100.7"},
            actor=admin_a,
        )
    client.force_login(admin_a)

    listing = client.get("/admin/compliance/consentevent/")
    detail = client.get(f"/admin/compliance/consentevent/{event.pk}/change/")
    add = client.get("/admin/compliance/consentevent/add/")

    assert listing.status_code == 200 and "Withdrawn" in listing.content.decode()
    assert detail.status_code == 200
    assert "198.51.100.7" not in detail.content.decode()
    assert add.status_code == 403
