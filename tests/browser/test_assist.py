"""AI assist in a real browser, against the recording provider on loopback:
summarise a lead's timeline, edit the answer, keep it as a note; then an
admin opens the AI settings and the usage log."""

import pytest
from playwright.sync_api import expect

from assist.models import AssistSettings
from clozup.models import Membership
from clozup.tenancy import org_context
from crm.models import Activity
from crm.services.activities import log_activity
from tests.assist.fake_provider import FakeProvider
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def provider(settings):
    with FakeProvider(answer=lambda received: "Keen buyer; call [PHONE_1].") as fake:
        settings.AI_BASE_URL = fake.base_url
        settings.AI_MODEL = "browser-model"
        settings.AI_API_KEY = "sk-browser-test"
        settings.AI_ALLOW_LOOPBACK_HTTP = True
        yield fake


def test_a_rep_summarises_edits_and_saves_an_ai_note(
    page, live_url, provider, make_org, make_member, make_lead
):
    organization = make_org(name="Acme Browser")
    rep = make_member(organization, role=Membership.Role.REP)
    admin = make_member(organization, role=Membership.Role.ADMIN)
    lead = make_lead(organization, phone="+33 1 23 45 67 89", company_name="Acme")
    with org_context(organization):
        log_activity(
            lead, actor=rep, kind="call", body="Quote by Friday; +33 1 23 45 67 89."
        )
        AssistSettings(organization=organization, summary_enabled=True).save()

    sign_in(page, live_url, rep.email, PASSWORD)
    page.goto(f"{live_url}/leads/{lead.pk}/")
    page.get_by_role("button", name="Summarise the timeline").click()
    answer = page.get_by_label("Text:", exact=True)
    expect(answer).to_have_value("Keen buyer; call +33 1 23 45 67 89.")
    screenshot(page, "assist-answer")
    assert b"+33 1 23 45 67 89" not in provider.all_bytes()

    answer.fill("Keen buyer; send the quote before Friday.")
    page.get_by_role("button", name="Save as note").click()
    first = page.locator("#timeline li").first
    expect(first).to_contain_text("AI-generated")
    expect(first).to_contain_text("send the quote before Friday")
    screenshot(page, "assist-saved")
    with org_context(organization):
        note = Activity.objects.get(lead=lead, ai_generated=True)
    assert note.body == "Keen buyer; send the quote before Friday."

    page.context.clear_cookies()
    sign_in(page, live_url, admin.email, PASSWORD)
    page.goto(f"{live_url}/admin/assist/assistusage/")
    expect(page.locator("#result_list")).to_contain_text("browser-model")
    screenshot(page, "assist-usage")
    page.goto(f"{live_url}/admin/assist/assistsettings/")
    page.locator("#result_list tbody a").first.click()
    expect(page.get_by_label("Summaries on")).to_be_checked()
    screenshot(page, "assist-settings")
