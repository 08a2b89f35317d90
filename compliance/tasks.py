"""Celery tasks of the compliance app."""

from django.db import OperationalError

from clozup.celery import app, organization_task

from .services import outreach, transparency


@organization_task(
    name="compliance.send_campaign",
    atomic=False,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=True,
)
def send_campaign_task(organization_id: int, campaign_id: int) -> dict[str, int]:
    """Send a campaign's queued messages. A rerun (a retry, or a redelivery
    after the worker died) sends only what no run has claimed yet."""
    return outreach.send_campaign(organization_id, campaign_id)


@app.task(name="compliance.notify_sub_processor_change")
def notify_sub_processor_change_task(change_id: int) -> int:
    """Announce a sub-processor change; a change already announced is skipped."""
    return transparency.notify_sub_processor_change(change_id)
