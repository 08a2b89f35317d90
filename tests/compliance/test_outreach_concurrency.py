"""Sending while people unsubscribe, and after a worker dies mid-send."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

from clozup.lib.addresses import address_hash
from clozup.tenancy import org_context
from compliance.models import CampaignSend
from compliance.services import outreach
from compliance.tasks import send_campaign_task
from crm.models import Campaign, Lead
from tests.conftest import database_url

pytestmark = pytest.mark.slow


def _campaign_to(org, count: int):
    with org_context(org):
        Lead.objects.bulk_create(
            Lead(organization=org, first_name="P", email=f"person{n:04d}@example.org")
            for n in range(count)
        )
        campaign = outreach.create_campaign(
            org, name="Launch", subject="Launch", body="News.", actor=None
        )
        outreach.queue_recipients(campaign, Lead.objects.all(), actor=None)
        # As start_sending leaves it, without enqueueing to a real broker:
        # these tests run the sender themselves.
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    return campaign


def _wait_for(condition, what: str, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def _signed_link(org, send: CampaignSend, email: str) -> str:
    token = outreach.UnsubscribeToken(
        organization_id=org.pk,
        send_id=send.pk,
        address_hash=address_hash(org, email),
        channel="email",
        purpose="marketing",
    )
    return f"/unsubscribe/{token.dumps()}/"


def test_nobody_gets_a_message_after_their_unsubscribe_or_two_messages(
    committed_db, make_org, smtp
):
    org = make_org()
    campaign = _campaign_to(org, 1000)
    with org_context(org):
        sends = list(
            CampaignSend.objects.select_related("lead").order_by("lead__email")
        )
    leavers = [(send, send.lead.email) for send in sends[150:1000:17]]
    assert len(leavers) == 50

    result = {}

    def send_all():
        try:
            result["counts"] = outreach.send_campaign(org.pk, campaign.pk)
        finally:
            connections.close_all()

    sender = threading.Thread(target=send_all)
    sender.start()
    _wait_for(lambda: smtp.count >= 100, "the first messages")
    cutoff = {}
    browser = Client(enforce_csrf_checks=True)
    for send, email in leavers:
        response = browser.post(_signed_link(org, send, email))
        assert response.status_code == 200
        # Every message numbered up to here was handed over before the POST
        # returned; a later number to this address would break the promise.
        cutoff[email] = smtp.count
    sender.join(timeout=600)
    assert not sender.is_alive()

    recipients = smtp.recipients()
    assert len(recipients) == len(set(recipients))
    late = {
        email: numbers
        for email, numbers in ((e, smtp.numbers_to(e)) for e in cutoff)
        if any(n > cutoff[email] for n in numbers)
    }
    assert late == {}
    counts = result["counts"]
    assert counts["sent"] == len(recipients)
    assert counts["sent"] + counts["skipped"] == 1000
    with org_context(org):
        skipped = set(
            CampaignSend.objects.filter(status="skipped").values_list(
                "lead__email", flat=True
            )
        )
    unreached = {email for email in cutoff if not smtp.numbers_to(email)}
    assert skipped == unreached


def test_a_worker_killed_mid_send_and_rerun_sends_nobody_twice(
    committed_db, make_org, smtp
):
    org = make_org()
    campaign = _campaign_to(org, 60)
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="clozup.settings",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        SITE_URL="https://clozup.test",
    )
    env.pop("MIGRATION_DATABASE_URL", None)
    smtp.hold_after(20)

    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.compliance.campaign_sender", str(org.pk),
         str(campaign.pk)],
        cwd=settings.BASE_DIR,
        env=env,
    )  # fmt: skip
    try:
        assert smtp.held.wait(timeout=180), "the worker never reached message 21"
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=60)
    smtp.release()

    counts = send_campaign_task(org.pk, campaign.pk)

    recipients = smtp.recipients()
    assert len(recipients) == len(set(recipients)) == 60
    # The message in flight when the worker died stays claimed: it may have
    # gone out (here it did), so no run sends it again.
    assert counts["claimed"] == 1 and counts["sent"] == 59
