"""An owner's retention page in a real browser: the effective table, a legal
hold, then cancelling the organization and reactivating it."""

import pytest
from playwright.sync_api import expect

from clozup.models import Organization
from clozup.services import create_organization
from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def owner(live_url):
    created = create_organization(
        name="Northwind Retention",
        slug="northwind-retention",
        plan=Organization.Plan.PRO,
        owner_email="owner.retention@example.com",
    )
    return created.organization, created.owner, created.initial_password


def test_an_owner_reads_the_table_places_a_hold_and_cancels_then_reactivates(
    page, live_url, owner
):
    organization, user, password = owner
    sign_in(page, live_url, user.email, password)

    page.goto(f"{live_url}/admin/compliance/retentionsettings/")
    expect(page.get_by_role("heading", name="Your retention table")).to_be_visible()
    expect(page.locator("#retention-recordings")).to_contain_text("12 months")
    expect(page.locator("#retention-audit_log")).to_contain_text("90 days (Pro plan)")
    screenshot(page, "admin-retention")

    page.get_by_role("link", name="Manage legal holds").click()
    page.get_by_role("link", name="Add legal hold").click()
    page.get_by_label("Scope").select_option("person")
    page.get_by_label("Email").fill("held.person@example.com")
    page.get_by_label("Reason").fill("CASE-31")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#result_list")).to_contain_text("address hash")

    page.goto(f"{live_url}/admin/compliance/retentionsettings/")
    expect(page.locator(".legal-holds")).to_contain_text("CASE-31")
    page.locator("#cancel-organization").click()
    expect(page.locator(".messagelist")).to_contain_text("cancelled and read-only")
    expect(page.locator(".account-lifecycle")).to_contain_text(
        "Everything will be deleted on"
    )
    organization.refresh_from_db()
    assert organization.status == Organization.Status.CANCELLED

    page.locator("#reactivate-organization").click()
    expect(page.locator(".messagelist")).to_contain_text("active again")
    organization.refresh_from_db()
    assert organization.is_active
