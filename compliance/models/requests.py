"""Data-subject requests, the exports made for them and erasure receipts.

A request (access, portability, erasure, rectification, objection) is due 30
days after it was received. Its history is a table of its own, appended to by
the services. The subject's address lives on the request and on exports only
until the subject is erased; afterwards only `subject_hash` remains (the same
one-way hash the suppression list keeps).
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from clozup.models import OrganizationModel, organization_constraints

RESPONSE_DAYS = 30
NEARING_DAYS = 7
EXPORT_LINK_DAYS = 7


def _member_fk(**kwargs):
    kwargs.setdefault("on_delete", models.SET_NULL)
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        **kwargs,
    )


def _org_fk(to, **kwargs):
    # The composite key (organization_id, x_id) in the migration does the
    # checking; a plain key on x_id alone would duplicate it.
    kwargs.setdefault("on_delete", models.CASCADE)
    return models.ForeignKey(
        to, related_name="+", db_index=False, db_constraint=False, **kwargs
    )


def default_due_at():
    return timezone.now() + timedelta(days=RESPONSE_DAYS)


class DataSubjectRequest(OrganizationModel):
    class Kind(models.TextChoices):
        ACCESS = "access", "Access (a copy of their data)"
        PORTABILITY = "portability", "Portability (machine-readable export)"
        ERASURE = "erasure", "Erasure"
        RECTIFICATION = "rectification", "Rectification"
        OBJECTION = "objection", "Objection to processing"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        IN_PROGRESS = "in_progress", "In progress"
        FULFILLED = "fulfilled", "Fulfilled"
        REFUSED = "refused", "Refused"

    class Channel(models.TextChoices):
        ADMIN = "admin", "Recorded by an admin"
        PUBLIC_FORM = "public_form", "Public request form"

    class Verification(models.TextChoices):
        NONE = "", "Not verified yet"
        EMAIL_LINK = "email_link", "Clicked a link sent to the address"
        KNOWN_CHANNEL = "known_channel", "Came from a channel we already use"
        DOCUMENT = "document", "Identity document checked"
        OTHER = "other", "Other (see the internal note)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.RECEIVED
    )
    channel = models.CharField(
        max_length=20, choices=Channel.choices, default=Channel.ADMIN
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    # What the person asked, in their words; blanked when they are erased.
    details = models.TextField(blank=True)
    subject_hash = models.CharField(max_length=64, blank=True, editable=False)
    received_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=default_due_at)
    closed_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(
        max_length=20, choices=Verification.choices, blank=True, default=""
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = _member_fk()
    created_by = _member_fk()
    # The nonce of the emailed link that confirmed a public request, so that
    # opening the link twice records one request.
    confirmation_nonce = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        constraints = organization_constraints(
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["fulfilled", "refused"], closed_at__isnull=False
                )
                | (
                    models.Q(status__in=["received", "in_progress"])
                    & models.Q(closed_at__isnull=True)
                ),
                name="dsr_closed_at_matches_status",
            ),
            models.CheckConstraint(
                condition=models.Q(verification_method="", verified_at__isnull=True)
                | (
                    ~models.Q(verification_method="")
                    & models.Q(verified_at__isnull=False)
                ),
                name="dsr_verified_at_matches_method",
            ),
            models.UniqueConstraint(
                fields=["organization", "confirmation_nonce"],
                condition=~models.Q(confirmation_nonce=""),
                name="dsr_confirmation_nonce_unique",
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "status", "due_at"], name="dsr_due_idx"
            ),
            models.Index(
                fields=["organization", "subject_hash"], name="dsr_subject_idx"
            ),
            models.Index(
                fields=["organization", "verified_by"], name="dsr_verifier_idx"
            ),
            models.Index(fields=["organization", "created_by"], name="dsr_creator_idx"),
        ]

    def __str__(self) -> str:
        return f"Request {self.pk} ({self.get_kind_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.RECEIVED, self.Status.IN_PROGRESS)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class DataSubjectRequestEvent(OrganizationModel):
    """One step in a request's history: ids, statuses and kinds only."""

    class Kind(models.TextChoices):
        RECEIVED = "received", "Received"
        VERIFIED = "verified", "Identity verified"
        STATUS_CHANGED = "status_changed", "Status changed"
        EXPORT_STARTED = "export_started", "Export started"
        EXPORT_READY = "export_ready", "Export ready"
        EXPORT_DOWNLOADED = "export_downloaded", "Export downloaded"
        ERASED = "erased", "Subject erased"

    request = _org_fk(DataSubjectRequest)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor = _member_fk()
    actor_label = models.CharField(max_length=150, blank=True)
    # Related ids (an export, a receipt) and counts; never personal data.
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = organization_constraints()
        indexes = [
            models.Index(
                fields=["organization", "request", "created_at"],
                name="dsrevent_request_idx",
            ),
            models.Index(fields=["organization", "actor"], name="dsrevent_actor_idx"),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class SubjectExport(OrganizationModel):
    """A zip of everything held about one person, kept encrypted in storage.

    Made by a Celery task; offered to the admin who asked, once, until
    `expires_at`. Deleted (file and row) when the person is erased.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        READY = "ready", "Ready to download"
        DOWNLOADED = "downloaded", "Downloaded"
        EXPIRED = "expired", "Expired before download"

    public_id = models.UUIDField(default=uuid.uuid4, editable=False)
    request = _org_fk(DataSubjectRequest, null=True, blank=True)
    requested_by = _member_fk()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    subject_hash = models.CharField(max_length=64, editable=False)
    storage_name = models.CharField(max_length=500, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    # Rows per record type and files included.
    counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="subjectexport_public_id"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="ready")
                | (~models.Q(storage_name="") & models.Q(expires_at__isnull=False)),
                name="subjectexport_ready_has_file",
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "subject_hash"], name="subjectexport_subject"
            ),
            models.Index(fields=["organization", "request"], name="subjectexport_req"),
            models.Index(
                fields=["organization", "requested_by"], name="subjectexport_by"
            ),
            models.Index(
                fields=["organization", "status", "created_at"],
                name="subjectexport_status",
            ),
        ]

    def __str__(self) -> str:
        return f"Subject export {self.pk}"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (
            now or timezone.now()
        )


class ErasureReceipt(OrganizationModel):
    """What an erasure removed, without saying whom: counts, time, operator."""

    class Scope(models.TextChoices):
        SUBJECT = "subject", "One person everywhere"
        LEAD = "lead", "One lead"
        CONTACT = "contact", "One contact"

    scope = models.CharField(max_length=20, choices=Scope.choices)
    request = _org_fk(
        DataSubjectRequest, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Rows removed or cleared, per table: {"crm_lead": 1, ...}.
    rows = models.JSONField(default=dict)
    # Files removed, per storage location: {"private/attachment": 2, ...}.
    files = models.JSONField(default=dict)
    actor = _member_fk()
    actor_label = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = organization_constraints()
        indexes = [
            models.Index(
                fields=["organization", "-created_at"], name="erasurereceipt_recent"
            ),
            models.Index(
                fields=["organization", "request"], name="erasurereceipt_request"
            ),
            models.Index(fields=["organization", "actor"], name="erasurereceipt_actor"),
        ]

    def __str__(self) -> str:
        return f"Erasure receipt {self.pk}"

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_files(self) -> int:
        return sum(self.files.values())
