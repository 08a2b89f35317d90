"""Celery tasks of accounts, integrations and backups."""

import logging

import httpx

from clozup import backups, integrations
from clozup.celery import app, organization_task
from clozup.models import WebhookDelivery
from clozup.tenancy import org_context

logger = logging.getLogger(__name__)


@app.task(name="clozup.take_backup", acks_late=False)
def take_backup_task() -> str:
    """The nightly backup. Not retried: a failed night is logged for a person,
    and the next night's backup does not depend on it."""
    try:
        backup = backups.take_backup()
    except Exception:
        logger.exception("nightly backup failed")
        raise
    return backup.name


@app.task(name="clozup.prune_backups")
def prune_backups_task() -> int:
    pruned = backups.prune_backups()
    return len(pruned.backups)


@organization_task(name="clozup.deliver_webhook", atomic=False)
def deliver_webhook_task(organization_id: int, delivery_id: int) -> str:
    """Send one webhook delivery; retried with growing delays, MAX_ATTEMPTS in all.

    Rerunnable: a delivery already finished is left alone.
    """
    with org_context(organization_id):
        delivery = (
            WebhookDelivery.objects.select_related("endpoint")
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
            .first()
        )
    if delivery is None:
        return "finished"

    # The request runs outside any transaction: no lock waits on the receiver.
    try:
        delivered = integrations.deliver_webhook(delivery)
        error = "" if delivered else f"HTTP {delivery.response_status}"
    except (httpx.HTTPError, integrations.InsecureWebhookURL) as failure:
        delivered, error = False, type(failure).__name__

    with org_context(organization_id):
        delivery = integrations.record_webhook_result(
            delivery, delivered=delivered, error=error
        )
    if delivery.status == WebhookDelivery.Status.PENDING:
        delay = integrations.RETRY_DELAYS[delivery.attempts - 1]
        logger.warning(
            "webhook delivery failed, retrying",
            extra={"delivery_id": delivery.pk, "attempt": delivery.attempts},
        )
        deliver_webhook_task.apply_async(
            (organization_id, delivery_id), countdown=delay
        )
    elif delivery.status == WebhookDelivery.Status.FAILED:
        logger.warning(
            "webhook delivery given up",
            extra={"delivery_id": delivery.pk, "attempts": delivery.attempts},
        )
    return delivery.status
