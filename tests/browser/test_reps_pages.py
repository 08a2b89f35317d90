"""A rep's day in a real browser: sign in, find a lead, log a note, move a deal,
import a file and see its rejected row. Every page built for reps is visited
here, and each main page leaves a screenshot in docs/screenshots/.
"""

import re

import pytest
from playwright.sync_api import expect

from clozup.services import get_or_create_user
from clozup.tenancy import org_context
from crm.models import Deal, Lead
from crm.services import demo
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def demo_org(live_url):
    created = demo.create_demo_organization()
    rep = next(p for p in created.people if p.email == demo.demo_email("rep1"))
    return created.organization, rep


def test_a_rep_signs_in_finds_a_lead_and_logs_a_note(page, live_url, demo_org):
    organization, rep = demo_org
    with org_context(organization):
        lead = Lead.objects.exclude(company_name="").order_by("id").first()

    sign_in(page, live_url, rep.email, rep.password)
    expect(page.get_by_role("heading", name="Tasks due")).to_be_visible()
    screenshot(page, "home")

    page.get_by_role("link", name="Leads", exact=True).click()
    page.get_by_label("Search").fill(lead.last_name)
    rows = page.locator("#rows tr")
    expect(rows.first).to_contain_text(lead.last_name)
    expect(page).to_have_url(re.compile(rf"/leads/\?q={lead.last_name}&"))
    screenshot(page, "leads")

    page.get_by_role("link", name=lead.full_name).first.click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    page.get_by_label("Type").select_option("note")
    page.get_by_label("Subject").fill("Asked for a call back")
    page.get_by_role("textbox", name="Details").fill("Prefers Tuesday mornings.")
    page.get_by_role("button", name="Log it").click()
    expect(page.locator("#timeline li").first).to_contain_text("Asked for a call back")
    expect(page.get_by_label("Subject")).to_have_value("")
    screenshot(page, "lead-detail")


def test_a_rep_moves_a_deal_to_another_stage_on_the_board(page, live_url, demo_org):
    organization, rep = demo_org
    with org_context(organization):
        deal = (
            Deal.objects.filter(stage__name="Proposal").order_by("-updated_at").first()
        )

    sign_in(page, live_url, rep.email, rep.password)
    page.goto(f"{live_url}/deals/board/")
    screenshot(page, "pipeline-board")
    page.get_by_label(f"Move {deal.title} to").select_option(label="Negotiation")

    card = page.locator(f"#deal-{deal.pk}")
    expect(card).to_have_class("deal-card moved")
    column = page.locator("section.board-column", has=card)
    expect(column.get_by_role("heading")).to_contain_text("Negotiation")
    with org_context(organization):
        assert Deal.objects.get(pk=deal.pk).stage.name == "Negotiation"

    page.get_by_role("link", name="Forecast").click()
    expect(page.locator("svg.chart").first).to_be_visible()
    screenshot(page, "forecast")


def test_an_import_reports_its_rejected_row(page, live_url, demo_org, tmp_path):
    from clozup.celery import app as celery_app

    organization, rep = demo_org
    csv_file = tmp_path / "new-leads.csv"
    csv_file.write_text(
        "First Name,Last Name,Email,Lead Source\n"
        "Grace,Hopper,grace@example.com,Conference\n"
        "Broken,Row,not-an-email,Conference\n"
    )
    celery_app.conf.task_always_eager = True
    try:
        sign_in(page, live_url, rep.email, rep.password)
        page.get_by_role("link", name="Import").click()
        page.get_by_role("link", name="Import CSV files").click()
        page.get_by_label("CSV files").set_input_files(str(csv_file))
        screenshot(page, "import-upload")
        page.get_by_role("button", name="Upload and check columns").click()
        expect(page.get_by_role("heading", name="new-leads.csv")).to_be_visible()
        screenshot(page, "import-mapping")
        page.get_by_role("button", name="Start the import").click()
    finally:
        celery_app.conf.task_always_eager = False

    rejected = page.locator("#rejections tbody tr")
    expect(rejected).to_have_count(1)
    expect(rejected).to_contain_text("3")
    expect(rejected).to_contain_text("'not-an-email' is not an email address")
    screenshot(page, "import-report")
    with org_context(organization):
        assert not Lead.objects.filter(email="grace@example.com").exists()


def test_every_other_page_renders_for_a_rep(page, live_url, demo_org):
    organization, rep = demo_org
    with org_context(organization):
        lead = Lead.objects.filter(converted_at__isnull=True).order_by("id").first()
        deal = Deal.objects.select_related("company").exclude(company=None).first()
        contact_id = Lead.objects.none() or None
    sign_in(page, live_url, rep.email, rep.password)

    page.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    screenshot(page, "contacts")
    page.locator("#rows a").first.click()
    expect(page.get_by_role("heading", name="Details")).to_be_visible()
    screenshot(page, "contact-detail")

    page.get_by_role("link", name="Companies").click()
    screenshot(page, "companies")
    page.get_by_label("Search").fill(deal.company.name)
    expect(page.locator("#rows a").first).to_have_text(deal.company.name)
    page.locator("#rows a").first.click()
    expect(page.get_by_role("heading", name="Deals")).to_be_visible()
    screenshot(page, "company-detail")

    page.goto(f"{live_url}/deals/")
    screenshot(page, "deals")
    page.goto(f"{live_url}/deals/{deal.pk}/")
    expect(page.get_by_role("heading", name="Details")).to_be_visible()
    screenshot(page, "deal-detail")

    page.goto(f"{live_url}/leads/new/")
    page.get_by_role("button", name="Create lead").click()
    expect(page.get_by_role("alert")).to_contain_text("A lead needs at least")
    screenshot(page, "lead-form-error")

    page.goto(f"{live_url}/leads/{lead.pk}/convert/")
    page.get_by_label("Deal title").fill("Pilot")
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("heading", name="Pilot")).to_be_visible()

    page.goto(f"{live_url}/leads/{lead.pk}/edit/")
    expect(page.get_by_role("heading", name=f"Edit {lead}")).to_be_visible()
    page.goto(f"{live_url}/imports/")
    expect(page.get_by_role("heading", name="Imports")).to_be_visible()
    assert contact_id is None


def test_the_lead_list_works_on_a_phone(browser, live_url, demo_org):
    organization, rep = demo_org
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True
    )
    phone = context.new_page()
    try:
        sign_in(phone, live_url, rep.email, rep.password)
        phone.goto(f"{live_url}/leads/")
        expect(phone.locator("#rows tr").first).to_be_visible()
        phone.get_by_role("link", name="More").click()
        expect(phone.locator("#rows tr:not(.more-row)")).to_have_count(50)
        screenshot(phone, "leads-phone")
    finally:
        context.close()


def test_a_member_of_two_organizations_switches_between_them(
    page, live_url, demo_org, make_org
):
    organization, _ = demo_org
    other = make_org(name="Second Org")
    person, _ = get_or_create_user("switcher@example.com")
    person.set_password(PASSWORD)
    person.save(update_fields=["password"])
    from clozup.services import add_member

    for org in (organization, other):
        with org_context(org):
            add_member(org, person, role="rep", actor=None)

    sign_in(page, live_url, person.email, PASSWORD)
    page.get_by_label("Organization").select_option(label="Second Org")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_label("Organization")).to_have_value(str(other.pk))
    page.get_by_role("link", name="Leads", exact=True).click()
    expect(page.locator("#rows")).to_contain_text("Nothing here")
