"""Compliance pages in a real browser: unsubscribing, the public
sub-processor, security and privacy pages, and a rep's campaign."""

import pytest
from playwright.sync_api import expect

from clozup.celery import app as celery_app
from clozup.lib.addresses import address_hash
from clozup.tenancy import org_context
from compliance.models import CampaignSend, ConsentEvent
from compliance.services import outreach, transparency
from compliance.services.consent import record_consent_event
from crm.models import Campaign, Lead
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def eager_tasks():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_the_unsubscribe_page_asks_first_then_unsubscribes(
    page, live_url, make_org, make_lead
):
    org = make_org(name="Northwind")
    lead = make_lead(org, email="reader@example.org")
    with org_context(org):
        campaign = outreach.create_campaign(
            org, name="News", subject="News", body="Hi", actor=None
        )
        outreach.queue_recipients(campaign, Lead.objects.all(), actor=None)
        send = CampaignSend.objects.get()
    token = outreach.UnsubscribeToken(
        organization_id=org.pk,
        send_id=send.pk,
        address_hash=address_hash(org, lead.email),
        channel="email",
        purpose="marketing",
    )

    page.goto(f"{live_url}/unsubscribe/{token.dumps()}/")
    expect(page.get_by_role("heading", name="Unsubscribe")).to_be_visible()
    expect(page.get_by_text("marketing email from Northwind")).to_be_visible()
    screenshot(page, "unsubscribe")
    with org_context(org):
        assert not ConsentEvent.objects.exists()

    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    with org_context(org):
        event = ConsentEvent.objects.get()
    assert event.action == "withdraw" and event.source == "unsubscribe_link"


def test_the_public_transparency_pages_render(page, live_url, eager_tasks):
    transparency.save_sub_processor(
        name="Amazon Web Services (hosting)",
        purpose="Hosting",
        data_processed="All data kept in Clozup",
        location="EU (Ireland, eu-west-1)",
        summary="On the first published list.",
    )

    page.goto(f"{live_url}/subprocessors/")
    expect(page.get_by_role("heading", name="Sub-processors")).to_be_visible()
    expect(page.get_by_role("cell", name="EU (Ireland, eu-west-1)")).to_be_visible()
    expect(page.get_by_text("Added: Amazon Web Services (hosting).")).to_be_visible()
    screenshot(page, "sub-processors")

    page.get_by_role("link", name="security").click()
    expect(page.get_by_role("heading", name="Security & Privacy")).to_be_visible()
    expect(page.get_by_role("heading", name="GDPR Compliance")).to_be_visible()
    page.goto(f"{live_url}/privacy/")
    expect(page.get_by_role("heading", name="Privacy notice")).to_be_visible()


def test_a_rep_sends_a_campaign_and_sees_the_counts(
    page, live_url, make_org, make_member, make_lead, eager_tasks
):
    org = make_org(name="Contoso")
    rep = make_member(org)
    make_lead(org, email="one@example.org", source="Webinar")
    make_lead(org, email="two@example.org", source="Webinar")
    opted_out = make_lead(org, email="three@example.org", source="Webinar")
    with org_context(org):
        record_consent_event(
            org,
            address=opted_out.email,
            channel="email",
            purpose="all",
            action="withdraw",
            source="complaint",
            lawful_basis="none",
            evidence={},
            actor=None,
        )

    sign_in(page, live_url, rep.email, PASSWORD)
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Webinar follow-up")
    page.get_by_label("Subject").fill("Thanks for joining")
    page.get_by_label("Body").fill("The slides are attached.")
    page.get_by_role("button", name="Save draft").click()

    page.get_by_label("Lead source").fill("Webinar")
    page.get_by_role("button", name="Add recipients").click()
    expect(page.get_by_text("3 recipients added.")).to_be_visible()
    page.get_by_role("button", name="Start sending").click()
    expect(page.get_by_text("Sending started.")).to_be_visible()
    progress = page.locator("#campaign-progress tbody tr")
    expect(progress).to_contain_text("2")
    screenshot(page, "campaign")

    with org_context(org):
        campaign = Campaign.objects.get()
        statuses = sorted(CampaignSend.objects.values_list("status", flat=True))
    assert campaign.status == "sent"
    assert statuses == ["sent", "sent", "skipped"]
