"""What Clozup publishes about itself: sub-processors and DPA requests."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from clozup.models import OrganizationModel, organization_constraints


class SubProcessor(models.Model):
    """A third party that processes customers' personal data for Clozup.

    Global, like the organization registry: the list is the same for every
    customer and public. Removed entries stay, with `removed_at`, so the
    change log can name them.
    """

    name = models.CharField(max_length=120, unique=True)
    purpose = models.CharField(max_length=255)
    data_processed = models.CharField(max_length=255)
    location = models.CharField(max_length=120)
    website = models.URLField(blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubProcessorChange(models.Model):
    """One entry of the public change log of the sub-processor list."""

    class Kind(models.TextChoices):
        ADDED = "added", "Added"
        CHANGED = "changed", "Changed"
        REMOVED = "removed", "Removed"

    sub_processor = models.ForeignKey(
        SubProcessor, on_delete=models.PROTECT, related_name="changes"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    # Set once the notices to subscribed organizations were sent.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.sub_processor} {self.kind}"


class SubProcessorNoticeSubscription(OrganizationModel):
    """The organization asked that its admins hear of sub-processor changes."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization"], name="subprocessornotice_one_per_org"
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "created_by"],
                name="subprocessornotice_by_idx",
            )
        ]

    def __str__(self) -> str:
        return f"Sub-processor notices for organization {self.organization_id}"


class DpaRequest(OrganizationModel):
    """A paid organization's request for a signed data processing agreement."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        SENT = "sent", "Sent for signature"
        SIGNED = "signed", "Signed"

    legal_name = models.CharField(max_length=200)
    company_address = models.TextField()
    signatory_name = models.CharField(max_length=200)
    signatory_title = models.CharField(max_length=200)
    signatory_email = models.EmailField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "DPA request"
        constraints = organization_constraints()
        indexes = [
            models.Index(
                fields=["organization", "-created_at"], name="dparequest_recent_idx"
            ),
            models.Index(
                fields=["organization", "requested_by"], name="dparequest_by_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"DPA request #{self.pk} ({self.status})"
