"""Campaign sending: consent checked per message, one message per recipient."""

import re
from urllib.parse import unquote, urlsplit

import pytest
from django.test import Client

from audit.models import AuditEntry
from clozup.lib.addresses import address_hash
from clozup.tenancy import org_context
from compliance.models import CampaignSend, ConsentEvent
from compliance.selectors.consent import current_consent_for_record
from compliance.services import outreach
from compliance.services.consent import record_consent_event, suppress_address
from crm.models import Campaign, Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(org_a, rep_a):
    with org_context(org_a):
        return outreach.create_campaign(
            org_a, name="Spring", subject="Our spring offer", body="Hello!", actor=rep_a
        )


def _start(org, campaign, actor, leads=None):
    with org_context(org):
        queued = outreach.queue_recipients(
            campaign, leads or Lead.objects.all(), actor=actor
        )
        campaign.refresh_from_db()
        campaign.status = Campaign.Status.SENDING
        campaign.save(update_fields=["status"])
    return queued


def _unsubscribe_header(message) -> str:
    # Long headers arrive folded; unfolding removes the line breaks only.
    return re.sub(r"\r?\n", "", message["List-Unsubscribe"]).strip()


def _link(message) -> str:
    header = _unsubscribe_header(message)
    match = re.match(r"<(https://[^>]+)>, <(mailto:[^>]+)>$", header)
    assert match, header
    return urlsplit(match.group(1)).path


def test_each_recipient_gets_one_message_with_one_click_unsubscribe_headers(
    org_a, rep_a, make_lead, campaign, smtp
):
    leads = [make_lead(org_a, email=f"r{n}@example.org") for n in range(3)]
    make_lead(org_a, email="")
    assert _start(org_a, campaign, rep_a) == 3

    counts = outreach.send_campaign(org_a.pk, campaign.pk)

    assert counts["sent"] == 3 and counts["queued"] == 0
    assert sorted(smtp.recipients()) == sorted(lead.email for lead in leads)
    message = smtp.last_to("r0@example.org")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"] == "Our spring offer"
    mailto = _unsubscribe_header(message).split(", <mailto:")[1]
    assert mailto.startswith("unsubscribe@clozup.example?subject=")
    assert "unsubscribe" in unquote(mailto)
    assert _link(message).startswith("/unsubscribe/")
    with org_context(org_a):
        campaign.refresh_from_db()
        finished = AuditEntry.objects.get(action="campaign.send_finished")
    assert campaign.status == Campaign.Status.SENT and campaign.sent_at
    assert finished.metadata["sent"] == 3


def test_withdrawn_and_suppressed_addresses_get_nothing(
    org_a, rep_a, admin_a, make_lead, campaign, smtp
):
    make_lead(org_a, email="keep@example.org")
    make_lead(org_a, email="out@example.org")
    make_lead(org_a, email="gone@example.org")
    with org_context(org_a):
        record_consent_event(
            org_a,
            address="OUT@example.org",
            channel="email",
            purpose="marketing",
            action="withdraw",
            source="complaint",
            lawful_basis="none",
            evidence={},
            actor=admin_a,
        )
        suppress_address(org_a, address="gone@example.org", source="bounce", actor=None)
    _start(org_a, campaign, rep_a)

    counts = outreach.send_campaign(org_a.pk, campaign.pk)

    assert smtp.recipients() == ["keep@example.org"]
    assert counts["sent"] == 1 and counts["skipped"] == 2
    with org_context(org_a):
        reasons = set(
            CampaignSend.objects.filter(status="skipped").values_list(
                "reason", flat=True
            )
        )
    assert reasons == {"withdrawn", "suppressed"}


def test_running_the_task_again_sends_nothing_twice(
    org_a, rep_a, make_lead, campaign, smtp
):
    make_lead(org_a, email="once@example.org")
    _start(org_a, campaign, rep_a)

    outreach.send_campaign(org_a.pk, campaign.pk)
    outreach.send_campaign(org_a.pk, campaign.pk)

    assert smtp.recipients() == ["once@example.org"]


def test_a_get_of_the_link_changes_nothing_and_a_post_unsubscribes_without_csrf(
    org_a, rep_a, make_lead, campaign, smtp
):
    lead = make_lead(org_a, email="reader@example.org")
    _start(org_a, campaign, rep_a)
    outreach.send_campaign(org_a.pk, campaign.pk)
    path = _link(smtp.last_to("reader@example.org"))
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(path)
    with org_context(org_a):
        assert not ConsentEvent.objects.exists()
    assert page.status_code == 200
    assert b"Unsubscribe from marketing email from Acme Sales" in page.content

    done = browser.post(path, {"List-Unsubscribe": "One-Click"})
    again = browser.post(path)

    assert done.status_code == 200 == again.status_code
    with org_context(org_a):
        event = ConsentEvent.objects.get()
        state = current_consent_for_record(
            org_a, lead, channel="email", purpose="marketing"
        )
        unsubscribed = AuditEntry.objects.get(action="consent.unsubscribed")
    assert event.source == "unsubscribe_link" and event.actor_type == "subject"
    assert event.lead_id == lead.pk
    assert event.text_shown.startswith("Unsubscribe from marketing email")
    assert not state.can_contact
    assert unsubscribed.metadata["campaign_id"] == campaign.pk
    assert "reader" not in str(unsubscribed.metadata)


def test_a_forged_or_altered_token_is_refused(org_a, rep_a, make_lead, campaign, smtp):
    make_lead(org_a, email="victim@example.org")
    _start(org_a, campaign, rep_a)
    outreach.send_campaign(org_a.pk, campaign.pk)
    path = _link(smtp.last_to("victim@example.org"))
    token = path.split("/")[2]
    altered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    forged_payload = token.replace(token.split(":")[0], token.split(":")[0][::-1])

    for bad in (altered, forged_payload, "not-a-token"):
        response = Client(enforce_csrf_checks=True).post(f"/unsubscribe/{bad}/")
        assert response.status_code == 400
        assert b"not valid" in response.content
    with org_context(org_a):
        assert not ConsentEvent.objects.exists()


def test_a_withdrawal_between_two_runs_is_respected(
    org_a, rep_a, make_lead, campaign, smtp
):
    first = make_lead(org_a, email="first@example.org")
    second = make_lead(org_a, email="second@example.org")
    with org_context(org_a):
        outreach.queue_recipients(
            campaign, Lead.objects.filter(pk__in=[first.pk, second.pk]), actor=rep_a
        )
        outreach.start_sending(campaign, actor=rep_a)
        send = CampaignSend.objects.get(lead=second)
        token = outreach.UnsubscribeToken(
            organization_id=org_a.pk,
            send_id=send.pk,
            address_hash=address_hash(org_a, second.email),
            channel="email",
            purpose="marketing",
        )
    Client().post(f"/unsubscribe/{token.dumps()}/")

    outreach.send_campaign(org_a.pk, campaign.pk)

    assert smtp.recipients() == ["first@example.org"]
