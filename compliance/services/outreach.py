"""Campaign sending that respects the consent ledger, and the unsubscribe link.

Each recipient is a `CampaignSend` row. The sender claims a row in a
transaction of its own (committed before anything leaves), then, holding the
address's advisory lock, checks consent and hands the message to SMTP. An
unsubscribe takes the same lock, so it either lands before the check or
waits until that one message was handed over; nothing leaves for the address
after the withdrawal commits. A claimed row is never sent again, so a task
retried after a crash cannot send twice.
"""

import logging
import smtplib
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit import services as audit_services
from audit.actions import Action
from clozup.lib.addresses import InvalidAddress, address_hash
from clozup.models import Organization
from clozup.tenancy import org_context
from crm.models import Campaign, Lead

from ..models import CampaignSend, ConsentEvent
from ..models.consent import (
    Channel,
    ConsentAction,
    ConsentSource,
    LawfulBasis,
    Purpose,
)
from ..selectors.consent import current_consent_for_record
from ..selectors.outreach import campaign_counts
from . import consent as consent_services

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "compliance.unsubscribe"
# Campaigns are marketing email; the ledger is asked about that purpose.
CAMPAIGN_CHANNEL = Channel.EMAIL
CAMPAIGN_PURPOSE = Purpose.MARKETING
BATCH_SIZE = 200


class CampaignNotDraft(ValueError):
    """Recipients are chosen, and sending started, only for a draft campaign."""


class NoRecipients(ValueError):
    pass


class BadUnsubscribeToken(ValueError):
    """The link's token was forged, altered or truncated."""


@dataclass(frozen=True)
class UnsubscribeToken:
    organization_id: int
    send_id: int
    address_hash: str
    channel: str
    purpose: str

    def dumps(self) -> str:
        payload = {
            "o": self.organization_id,
            "r": self.send_id,
            "h": self.address_hash,
            "c": self.channel,
            "p": self.purpose,
        }
        return signing.dumps(payload, salt=UNSUBSCRIBE_SALT)

    @classmethod
    def loads(cls, value: str) -> "UnsubscribeToken":
        try:
            payload = signing.loads(value, salt=UNSUBSCRIBE_SALT)
            token = cls(
                organization_id=int(payload["o"]),
                send_id=int(payload["r"]),
                address_hash=str(payload["h"]),
                channel=str(payload["c"]),
                purpose=str(payload["p"]),
            )
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise BadUnsubscribeToken("token: not a valid unsubscribe token") from None
        if token.channel not in Channel.values or token.purpose not in Purpose.values:
            raise BadUnsubscribeToken("token: unknown channel or purpose")
        return token


def unsubscribe_url(signed: str) -> str:
    path = reverse("compliance:unsubscribe", args=[signed])
    return settings.SITE_URL.rstrip("/") + path


# Choosing recipients and starting -------------------------------------------


@transaction.atomic
def create_campaign(
    organization: Organization, *, name: str, subject: str, body: str, actor
) -> Campaign:
    campaign = Campaign.objects.create(
        organization=organization,
        name=name,
        subject=subject,
        body=body,
        created_by=actor,
    )
    audit_services.record_event(
        Action.RECORD_CREATED,
        organization=organization,
        actor=actor,
        target=campaign,
        metadata={"fields": ["name", "subject", "body"]},
    )
    return campaign


@transaction.atomic
def queue_recipients(campaign: Campaign, leads, *, actor) -> int:
    """Add the leads (a queryset) with an email address as recipients.

    A lead already queued for this campaign is not added twice. Consent is
    not judged here but at the moment of sending. Returns how many were
    added; records an audit event.
    """
    if campaign.status != Campaign.Status.DRAFT:
        raise CampaignNotDraft(f"campaign {campaign.pk}: it is {campaign.status}")

    lead_ids = leads.filter(deleted_at__isnull=True).exclude(email="")
    rows = [
        CampaignSend(
            organization_id=campaign.organization_id, campaign=campaign, lead_id=pk
        )
        for pk in lead_ids.values_list("id", flat=True).iterator(chunk_size=2000)
    ]
    before = CampaignSend.objects.filter(campaign=campaign).count()
    CampaignSend.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    added = CampaignSend.objects.filter(campaign=campaign).count() - before

    audit_services.record_event(
        Action.CAMPAIGN_RECIPIENTS_CHOSEN,
        organization=campaign.organization_id,
        actor=actor,
        target=campaign,
        metadata={"queued": added},
    )
    return added


@transaction.atomic
def start_sending(campaign: Campaign, *, actor) -> Campaign:
    """Mark the campaign as sending and enqueue the sending task on commit."""
    from ..tasks import send_campaign_task

    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise CampaignNotDraft(f"campaign {campaign.pk}: it is {campaign.status}")
    queued = CampaignSend.objects.filter(
        campaign=campaign, status=CampaignSend.Status.QUEUED
    ).count()
    if not queued:
        raise NoRecipients(f"campaign {campaign.pk}: choose recipients first")

    campaign.status = Campaign.Status.SENDING
    campaign.save(update_fields=["status"])

    audit_services.record_event(
        Action.CAMPAIGN_SEND_STARTED,
        organization=campaign.organization_id,
        actor=actor,
        target=campaign,
        metadata={"queued": queued},
    )
    organization_id, campaign_id = campaign.organization_id, campaign.pk
    transaction.on_commit(
        lambda: send_campaign_task.delay(organization_id, campaign_id)
    )
    return campaign


# Sending ---------------------------------------------------------------------


def send_campaign(organization_id: int, campaign_id: int) -> dict[str, int]:
    """Send every queued recipient of the campaign; safe to run again.

    Runs outside any transaction: each claim and each send commits on its
    own. Returns the campaign's counts per status.
    """
    with org_context(organization_id):
        organization = Organization.objects.get(pk=organization_id)
        campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status == Campaign.Status.DRAFT:
        raise CampaignNotDraft(f"campaign {campaign_id}: sending was not started")

    logger.info("campaign sending started", extra={"campaign_id": campaign_id})
    connection = get_connection()
    try:
        while ids := _next_batch(organization_id, campaign_id):
            for send_id in ids:
                _send_one(organization, campaign, send_id, connection)
    finally:
        connection.close()
    return _finish(organization_id, campaign_id)


def _next_batch(organization_id: int, campaign_id: int) -> list[int]:
    with org_context(organization_id):
        queued = CampaignSend.objects.filter(
            campaign_id=campaign_id, status=CampaignSend.Status.QUEUED
        )
        return list(queued.order_by("id").values_list("id", flat=True)[:BATCH_SIZE])


def _claim(organization_id: int, send_id: int) -> bool:
    # Committed before the message is built: from here on, no run sends it.
    with org_context(organization_id):
        claimed = CampaignSend.objects.filter(
            pk=send_id, status=CampaignSend.Status.QUEUED
        ).update(status=CampaignSend.Status.CLAIMED, claimed_at=timezone.now())
    return bool(claimed)


def _close(send: CampaignSend, status: str, reason: str = "") -> None:
    send.status = status
    send.reason = reason
    send.finished_at = timezone.now()
    send.save(update_fields=["status", "reason", "finished_at"])


def _send_one(organization, campaign, send_id: int, connection) -> None:
    if not _claim(organization.pk, send_id):
        return

    with org_context(organization.pk):
        send = CampaignSend.objects.get(pk=send_id)
        lead = Lead.objects.filter(pk=send.lead_id, deleted_at__isnull=True).first()
        try:
            hashed = address_hash(organization, lead.email) if lead else ""
        except InvalidAddress:
            hashed = ""
        if not hashed:
            _close(send, CampaignSend.Status.SKIPPED, "no_address")
            return

        # Held until this transaction commits, after the SMTP hand-off.
        consent_services.lock_address(hashed)
        state = current_consent_for_record(
            organization, lead, channel=CAMPAIGN_CHANNEL, purpose=CAMPAIGN_PURPOSE
        )
        if not state.can_contact:
            reason = "suppressed" if state.suppressed else "withdrawn"
            _close(send, CampaignSend.Status.SKIPPED, reason)
            return

        token = UnsubscribeToken(
            organization_id=organization.pk,
            send_id=send.pk,
            address_hash=hashed,
            channel=CAMPAIGN_CHANNEL,
            purpose=CAMPAIGN_PURPOSE,
        )
        message = _message(organization, campaign, lead, token, connection)
        try:
            # One connection for the run; reopened after a failure closed it.
            connection.open()
            message.send()
        except (smtplib.SMTPException, OSError) as error:
            logger.warning(
                "campaign message refused",
                extra={"send_id": send.pk, "error": type(error).__name__},
            )
            connection.close()
            _close(send, CampaignSend.Status.FAILED, "smtp_error")
            return
        _close(send, CampaignSend.Status.SENT)


def _message(organization, campaign, lead, token: UnsubscribeToken, connection):
    signed = token.dumps()
    url = unsubscribe_url(signed)
    mailto = f"mailto:{settings.UNSUBSCRIBE_MAILTO}?subject=" + quote(
        f"unsubscribe {signed}"
    )
    context = {
        "organization": organization,
        "campaign": campaign,
        "lead": lead,
        "unsubscribe_url": url,
    }
    text = render_to_string("compliance/email/campaign.txt", context)
    html = render_to_string("compliance/email/campaign.html", context)
    message = EmailMultiAlternatives(
        subject=campaign.subject or campaign.name,
        body=text,
        to=[lead.email],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{url}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def _finish(organization_id: int, campaign_id: int) -> dict[str, int]:
    with org_context(organization_id):
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        counts = campaign_counts(campaign_id)
        if (
            counts[CampaignSend.Status.QUEUED]
            or campaign.status == Campaign.Status.SENT
        ):
            return counts
        campaign.status = Campaign.Status.SENT
        campaign.sent_at = timezone.now()
        campaign.save(update_fields=["status", "sent_at"])
        audit_services.record_event(
            Action.CAMPAIGN_SEND_FINISHED,
            organization=organization_id,
            target=campaign,
            metadata={status: counts[status] for status in CampaignSend.Status.values},
        )
    logger.info(
        "campaign sending finished", extra={"campaign_id": campaign_id, **counts}
    )
    return counts


# Unsubscribing ---------------------------------------------------------------


@transaction.atomic
def unsubscribe(token: UnsubscribeToken, *, evidence: dict) -> ConsentEvent | None:
    """Record the person's withdrawal from their link; idempotent.

    Call inside the token's organization context. Returns None when the
    latest event already withdrew (a second click changes nothing).
    """
    organization = Organization.objects.get(pk=token.organization_id)
    send = CampaignSend.objects.filter(pk=token.send_id).first()
    lead = None
    if send is not None and send.lead_id is not None:
        lead = Lead.objects.filter(pk=send.lead_id).first()

    event = consent_services.append_event(
        organization,
        hashed=token.address_hash,
        channel=token.channel,
        purpose=token.purpose,
        action=ConsentAction.WITHDRAW,
        source=ConsentSource.UNSUBSCRIBE_LINK,
        lawful_basis=LawfulBasis.NONE,
        evidence=evidence,
        actor=consent_services.SUBJECT,
        lead=lead,
        only_if_changed=True,
    )
    if event is not None:
        audit_services.record_event(
            Action.UNSUBSCRIBED,
            organization=organization,
            target=event,
            metadata={
                "campaign_id": getattr(send, "campaign_id", None),
                "send_id": token.send_id,
                "channel": token.channel,
                "purpose": token.purpose,
            },
        )
    return event
