"""Retention settings, legal holds and account-lifecycle notices.

The rules themselves live in `compliance.retention`; these tables hold only
what an organization may change about them and the state the jobs keep.
"""

from django.db import models
from django.utils import timezone

from clozup.models import OrganizationModel, organization_constraints

MAX_RECORDING_MONTHS = 120
MAX_CUSTOM_DAYS = 3650


class RetentionSettings(OrganizationModel):
    """What an organization changed in its retention table; empty means default.

    Any plan may set how long call recordings are kept (the page says
    "configurable"); the other overrides are Enterprise custom terms, which
    `compliance.services.retention.save_retention_settings` refuses on other
    plans.
    """

    call_recording_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Keep call recordings this many months (default 12).",
    )
    deleted_records_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Enterprise terms: deleted leads, deals and campaigns are gone "
        "within this many days (default 30).",
    )
    audit_log_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Enterprise terms: keep audit log entries this many days "
        "(default 365 on Enterprise).",
    )
    cancellation_grace_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Enterprise terms: days a cancelled account is kept before "
        "its full purge (default 90).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "retention settings"
        verbose_name_plural = "retention settings"
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization"], name="retentionsettings_one_per_org"
            ),
            models.CheckConstraint(
                condition=models.Q(call_recording_months__isnull=True)
                | models.Q(
                    call_recording_months__gte=1,
                    call_recording_months__lte=MAX_RECORDING_MONTHS,
                ),
                name="retentionsettings_recording_months_range",
            ),
            # A promise shorter than 3 days leaves the daily job no margin.
            models.CheckConstraint(
                condition=models.Q(deleted_records_days__isnull=True)
                | models.Q(
                    deleted_records_days__gte=3,
                    deleted_records_days__lte=MAX_CUSTOM_DAYS,
                ),
                name="retentionsettings_records_days_range",
            ),
            models.CheckConstraint(
                condition=models.Q(audit_log_days__isnull=True)
                | models.Q(audit_log_days__gte=1, audit_log_days__lte=MAX_CUSTOM_DAYS),
                name="retentionsettings_audit_days_range",
            ),
            models.CheckConstraint(
                condition=models.Q(cancellation_grace_days__isnull=True)
                | models.Q(
                    cancellation_grace_days__gte=1,
                    cancellation_grace_days__lte=MAX_CUSTOM_DAYS,
                ),
                name="retentionsettings_grace_days_range",
            ),
        )

    def __str__(self) -> str:
        return "Retention settings"


class LegalHold(OrganizationModel):
    """While active, the purges this hold covers wait.

    A hold covers the whole organization, a person (by the SHA-256 of their
    lower-cased email address, so no address is stored) or one record.
    """

    class Scope(models.TextChoices):
        ORGANIZATION = "organization", "The whole organization"
        PERSON = "person", "A person (by email address)"
        RECORD = "record", "One record"

    scope = models.CharField(max_length=20, choices=Scope.choices)
    address_hash = models.CharField(max_length=64, blank=True)
    record_type = models.CharField(
        max_length=100, blank=True, help_text="A model label, e.g. crm.lead."
    )
    record_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(
        max_length=200, help_text="A case or ticket reference; no personal data."
    )
    placed_by = models.CharField(max_length=150, editable=False)
    placed_at = models.DateTimeField(default=timezone.now, editable=False)
    released_by = models.CharField(max_length=150, blank=True, editable=False)
    released_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = organization_constraints(
            models.CheckConstraint(
                condition=models.Q(
                    scope="organization",
                    address_hash="",
                    record_type="",
                    record_id__isnull=True,
                )
                | models.Q(
                    scope="person",
                    address_hash__regex=r"^[0-9a-f]{64}$",
                    record_type="",
                    record_id__isnull=True,
                )
                | models.Q(
                    scope="record",
                    address_hash="",
                    record_id__isnull=False,
                    record_type__regex=r"^[a-z_]+\.[a-z_]+$",
                ),
                name="legalhold_scope_fields",
            ),
            models.CheckConstraint(
                condition=models.Q(released_at__isnull=True, released_by="")
                | models.Q(released_at__isnull=False),
                name="legalhold_released_by_with_time",
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "scope"],
                condition=models.Q(released_at__isnull=True),
                name="legalhold_active_idx",
            )
        ]

    def __str__(self) -> str:
        return f"Legal hold {self.pk} ({self.get_scope_display()})"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class LifecycleNotice(OrganizationModel):
    """An email sent to the admins of a cancelled organization before its purge.

    One row per notice and cancellation, written before sending, so a rerun
    of the job never sends the same notice twice.
    """

    class Kind(models.TextChoices):
        PURGE_IN_7_DAYS = "purge_in_7_days", "Purge in 7 days"
        PURGE_IN_1_DAY = "purge_in_1_day", "Purge in 1 day"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    cancelled_at = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "kind", "cancelled_at"],
                name="lifecyclenotice_once_per_cancellation",
            ),
        )

    def __str__(self) -> str:
        return self.get_kind_display()
