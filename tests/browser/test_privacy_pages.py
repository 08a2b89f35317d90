"""The privacy pages in a real browser: a person sends a request through an
organization's public form and confirms it from the emailed link; an admin
downloads a subject export once from its download page."""

import re

import pytest
from playwright.sync_api import expect

from clozup.models import Membership
from clozup.tenancy import org_context
from compliance.models import DataSubjectRequest
from compliance.services import exports
from crm.models import Lead
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PERSON = "pat.doe@subject.example"


def test_a_person_sends_and_confirms_a_request(page, live_url, make_org, mailoutbox):
    organization = make_org(name="Acme Sales")

    page.goto(f"{live_url}/privacy/request/{organization.slug}/")
    expect(
        page.get_by_role("heading", name="Privacy request to Acme Sales")
    ).to_be_visible()
    page.get_by_label("Your email address").fill(PERSON)
    page.get_by_label("What you ask for").select_option("access")
    page.get_by_label("Details (optional)").fill("Everything you hold, please.")
    screenshot(page, "privacy-request-form")
    page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    with org_context(organization):
        assert not DataSubjectRequest.objects.exists()

    link = re.search(r"https?://\S+/confirm/\S+/", mailoutbox[0].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm the request").click()
    expect(page.get_by_role("heading", name="Request received")).to_be_visible()
    with org_context(organization):
        dsr = DataSubjectRequest.objects.get()
    expect(page.get_by_text(f"reference {dsr.pk}")).to_be_visible()
    assert dsr.email == PERSON and dsr.is_verified


def test_an_admin_downloads_a_subject_export_once(
    page, live_url, make_org, make_member, local_storages
):
    organization = make_org()
    admin = make_member(organization, role=Membership.Role.ADMIN)
    with org_context(organization):
        Lead.objects.create(organization=organization, email=PERSON, first_name="Pat")
        export = exports.request_subject_export(organization, email=PERSON, actor=admin)
    with org_context(organization):
        exports.build_subject_export(export.pk)

    sign_in(page, live_url, admin.email, PASSWORD)
    page.goto(f"{live_url}/privacy/exports/{export.public_id}/")
    expect(
        page.get_by_role("heading", name=f"Subject export {export.pk}")
    ).to_be_visible()
    screenshot(page, "subject-export-download")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the export").click()
    assert download.value.suggested_filename == f"subject-export-{export.pk}.zip"

    page.goto(f"{live_url}/privacy/exports/{export.public_id}/")
    expect(page.get_by_text("can no longer be downloaded")).to_be_visible()
