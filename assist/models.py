"""AI assist: each organization's switches and limits, and a usage log.

Neither a prompt nor an answer is ever stored here: the usage log holds who
asked for which feature, with which model and how many tokens it cost.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from clozup.lib.encrypted_fields import EncryptedTextField, PreallocatedBigAutoField
from clozup.models import OrganizationModel, organization_constraints


class Feature(models.TextChoices):
    SUMMARY = "summary", "Summarise the timeline"
    FOLLOW_UP = "follow_up", "Draft a follow-up email"


class AssistSettings(OrganizationModel):
    """One row per organization. Without it, or with a feature off, no AI."""

    id = PreallocatedBigAutoField(primary_key=True)
    summary_enabled = models.BooleanField(
        "summaries on", default=False, help_text="Reps may summarise a timeline."
    )
    follow_up_enabled = models.BooleanField(
        "follow-up drafts on",
        default=False,
        help_text="Reps may draft a follow-up email.",
    )
    monthly_token_budget = models.PositiveIntegerField(
        default=200_000,
        help_text="Tokens (sent and received) the organization may use per month.",
    )
    user_monthly_token_cap = models.PositiveIntegerField(
        default=50_000, help_text="Tokens one person may use per month."
    )
    base_url = models.URLField(
        "provider base URL",
        max_length=300,
        blank=True,
        help_text="An OpenAI-compatible API, e.g. https://api.openai.com/v1. "
        "Empty: Clozup's default provider.",
    )
    model = models.CharField(
        max_length=100, blank=True, help_text="Empty: the default provider's model."
    )
    api_key = EncryptedTextField(
        blank=True, help_text="Needed with your own base URL; stored encrypted."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI settings"
        verbose_name_plural = "AI settings"
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization"], name="assistsettings_one_per_org"
            ),
        )

    def __str__(self) -> str:
        return "AI settings"

    @property
    def api_key_text(self) -> str:
        """The key in plain text, "" when none is stored (empty reads as str)."""
        key = self.api_key
        return key.reveal() if hasattr(key, "reveal") else key

    def is_enabled(self, feature: str) -> bool:
        return {
            Feature.SUMMARY: self.summary_enabled,
            Feature.FOLLOW_UP: self.follow_up_enabled,
        }[feature]


class AssistUsage(OrganizationModel):
    """One request sent to the provider: who, what for, what it cost. No text."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "Answered"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    feature = models.CharField(max_length=20, choices=Feature.choices)
    model = models.CharField(max_length=100)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "AI usage"
        verbose_name_plural = "AI usage"
        constraints = organization_constraints()
        indexes = [
            models.Index(
                fields=["organization", "-created_at"], name="assistusage_recent_idx"
            ),
            models.Index(
                fields=["organization", "user", "-created_at"],
                name="assistusage_user_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_feature_display()} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out
