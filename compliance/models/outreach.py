"""Campaign sends: one row per campaign and recipient, claimed before sending."""

from django.db import models
from django.utils import timezone

from clozup.models import OrganizationModel, organization_constraints


class CampaignSend(OrganizationModel):
    """The send log of one campaign to one lead.

    A row is QUEUED when the recipient is chosen, and moves forward only:
    CLAIMED in a committed transaction of its own before the message leaves,
    then SENT, or SKIPPED when consent forbids it at the last moment. A row
    left CLAIMED by a worker that died is never sent again: a message that
    may have gone out is not repeated.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        CLAIMED = "claimed", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped (no consent)"
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(
        "crm.Campaign",
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    lead = models.ForeignKey(
        "crm.Lead",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    # Why a send was skipped or failed: a code, never an address.
    reason = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "campaign", "lead"],
                name="campaignsend_once_per_recipient",
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "campaign", "status"],
                name="campaignsend_campaign_idx",
            ),
            models.Index(fields=["organization", "lead"], name="campaignsend_lead_idx"),
        ]

    def __str__(self) -> str:
        return f"Send #{self.pk} of campaign {self.campaign_id} ({self.status})"
