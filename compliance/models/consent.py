"""The consent ledger and the suppression list.

Both are append-only for the app role (INSERT and SELECT only), and a trigger
refuses UPDATE and DELETE for everyone (compliance/migrations/0001_initial.py)
except two narrow cases: the database clearing a link to a deleted lead or
contact, and the owner's erasure functions, which raise a flag for their own
statement. A person is known here only by the keyed hash of their address
(`clozup.lib.addresses.address_hash`); the clear address stays on the lead or
contact row.
"""

from django.db import models
from django.utils import timezone

from clozup.lib.encrypted_fields import EncryptedTextField, PreallocatedBigAutoField
from clozup.models import Organization, OrganizationModel, organization_constraints


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"


class Purpose(models.TextChoices):
    # An event for ALL speaks for every purpose of its channel: a "Do Not
    # Email" flag or an unsubscribe from everything.
    ALL = "all", "All purposes"
    MARKETING = "marketing", "Marketing"
    SALES_OUTREACH = "sales_outreach", "Sales outreach"
    AI_PROCESSING = "ai_processing", "AI processing"


class ConsentAction(models.TextChoices):
    GRANT = "grant", "Granted"
    WITHDRAW = "withdraw", "Withdrawn"


class LawfulBasis(models.TextChoices):
    CONSENT = "consent", "Consent"
    CONTRACT = "contract", "Contract"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"
    # A withdrawal or objection needs no basis of the organization's.
    NONE = "none", "None (withdrawal or objection)"


class ConsentSource(models.TextChoices):
    FORM = "form", "Web form"
    IMPORT = "import", "Import"
    ADMIN = "admin", "Admin"
    UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
    COMPLAINT = "complaint", "Complaint"
    BOUNCE = "bounce", "Bounce"
    ERASURE = "erasure", "Erasure"


class ActorType(models.TextChoices):
    USER = "user", "User"
    OPERATOR = "operator", "Support operator"
    SUBJECT = "subject", "The person themselves"
    SYSTEM = "system", "System"


class ConsentEvent(OrganizationModel):
    """One grant or withdrawal, with its evidence. Never changed once written."""

    id = PreallocatedBigAutoField(primary_key=True)
    # The ledger leaves with its organization only through the owner's
    # compliance_purge_organization(): the ORM must not try to cascade.
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, related_name="+", db_index=False
    )
    address_hash = models.CharField(max_length=64, blank=True)
    # Links to the record the event was made for. The database clears them
    # (ON DELETE SET NULL of the composite keys) when that record is deleted;
    # the app role could not, having no UPDATE here.
    lead = models.ForeignKey(
        "crm.Lead",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    contact = models.ForeignKey(
        "crm.Contact",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    action = models.CharField(max_length=10, choices=ConsentAction.choices)
    lawful_basis = models.CharField(max_length=30, choices=LawfulBasis.choices)
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    # Evidence: when the person acted, from where, and what they were shown.
    occurred_at = models.DateTimeField(default=timezone.now)
    ip = EncryptedTextField(blank=True)
    user_agent = EncryptedTextField(blank=True)
    text_shown = models.TextField(blank=True)
    # Who recorded it; a user id without a foreign key, as in the audit log,
    # so that deleting a user does not rewrite the ledger.
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    app_role_privileges = ("SELECT", "INSERT")
    app_role_functions = (
        "compliance_forget_address(bigint, varchar)",
        "compliance_purge_organization(bigint)",
    )

    class Meta:
        constraints = organization_constraints(
            models.CheckConstraint(
                condition=~models.Q(action="grant") | ~models.Q(lawful_basis="none"),
                name="consentevent_grant_needs_a_basis",
            ),
            # Empty for a record that has no address yet (an imported lead
            # flagged "Do Not Email" without an email): the event then names
            # the person through its lead or contact link alone.
            models.CheckConstraint(
                condition=models.Q(address_hash__regex=r"^([0-9a-f]{64})?$"),
                name="consentevent_hash_is_hex",
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "address_hash", "channel", "-occurred_at"],
                name="consentevent_person_idx",
            ),
            models.Index(fields=["organization", "lead"], name="consentevent_lead_idx"),
            models.Index(
                fields=["organization", "contact"], name="consentevent_contact_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.channel}/{self.purpose} #{self.pk}"


class Suppression(OrganizationModel):
    """An address (by hash) that must not be contacted on any channel.

    An erasure leaves this row and nothing else of the person. A grant
    recorded later by an admin, with a lawful basis, lifts it.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, related_name="+", db_index=False
    )
    address_hash = models.CharField(max_length=64)
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    app_role_privileges = ("SELECT", "INSERT")

    class Meta:
        constraints = organization_constraints(
            models.CheckConstraint(
                condition=models.Q(address_hash__regex=r"^[0-9a-f]{64}$"),
                name="suppression_hash_is_hex",
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "address_hash", "-created_at"],
                name="suppression_hash_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Suppression #{self.pk} ({self.source})"
