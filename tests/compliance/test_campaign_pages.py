"""Reps create a campaign, choose recipients, start sending and watch it."""

import pytest

from audit.models import AuditEntry
from clozup.tenancy import org_context
from compliance.models import CampaignSend
from crm.models import Campaign

pytestmark = pytest.mark.django_db


def test_a_rep_creates_fills_and_starts_a_campaign(
    client, org_a, rep_a, make_lead, django_capture_on_commit_callbacks
):
    make_lead(org_a, email="a@example.org", source="Webinar")
    make_lead(org_a, email="b@example.org", source="Fair")
    make_lead(org_a, email="", source="Webinar")
    client.force_login(rep_a)

    created = client.post(
        "/campaigns/new/",
        {"name": "Webinar follow-up", "subject": "Thanks", "body": "Slides inside."},
    )
    with org_context(org_a):
        campaign = Campaign.objects.get()
    added = client.post(
        f"/campaigns/{campaign.pk}/recipients/", {"status": "", "source": "webinar"}
    )
    with django_capture_on_commit_callbacks() as callbacks:
        started = client.post(f"/campaigns/{campaign.pk}/start/")
    progress = client.get(f"/campaigns/{campaign.pk}/progress/", HTTP_HX_REQUEST="true")

    assert created.status_code == 302 and added.status_code == 302
    assert started.status_code == 302 and len(callbacks) == 1
    assert "every 2s" in progress.content.decode()
    with org_context(org_a):
        campaign.refresh_from_db()
        queued = CampaignSend.objects.filter(campaign=campaign).count()
        actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert campaign.status == "sending" and queued == 1
    assert "campaign.recipients_chosen" in actions
    assert "campaign.send_started" in actions


def test_a_campaign_needs_recipients_and_a_subject(client, org_a, rep_a):
    client.force_login(rep_a)

    invalid = client.post("/campaigns/new/", {"name": "X", "subject": "", "body": "b"})
    client.post("/campaigns/new/", {"name": "X", "subject": "S", "body": "b"})
    with org_context(org_a):
        campaign = Campaign.objects.get()
    empty = client.post(f"/campaigns/{campaign.pk}/start/", follow=True)

    assert "subject: a campaign email needs a subject" in invalid.content.decode()
    assert "Add recipients before sending." in empty.content.decode()
    with org_context(org_a):
        campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_another_organizations_campaign_is_not_found(
    client, org_a, org_b, rep_a, rep_b
):
    client.force_login(rep_a)
    client.post("/campaigns/new/", {"name": "Mine", "subject": "S", "body": "b"})
    with org_context(org_a):
        campaign = Campaign.objects.get()

    client.force_login(rep_b)
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert client.get("/campaigns/").content.decode().count("Mine") == 0
