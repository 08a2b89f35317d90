"""The audit log: append-only, hash-chained per organization.

The app role may only INSERT and SELECT entries, and a trigger refuses UPDATE,
DELETE and TRUNCATE even for the owner; old entries leave only through the
owner's retention function, which leaves a checkpoint behind
(audit/migrations/0002_append_only.py).
"""

from django.db import models

from clozup.models import Organization, OrganizationModel, organization_constraints

from .actions import Action

GENESIS_HASH = "0" * 64


class AuditEntry(OrganizationModel):
    class ActorType(models.TextChoices):
        USER = "user", "User"
        OPERATOR = "operator", "Support operator"
        SYSTEM = "system", "System"

    # Entries outlive nothing but their organization, and leave with it only
    # through audit_purge_organization(): the database must not cascade here.
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, related_name="+", db_index=False
    )
    seq = models.BigIntegerField()
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    # A user id without a foreign key: deleting a user must not rewrite history.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    # Text, not inet: the hash covers the address exactly as it was recorded.
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, choices=Action.choices)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # sha256(previous entry's hash ":" seq ":" sha256(contents)); the first
    # entry links to GENESIS_HASH, the first after a retention checkpoint to
    # the checkpoint's hash.
    hash = models.CharField(max_length=64)

    app_role_privileges = ("SELECT", "INSERT")
    app_role_functions = (
        "audit_append(bigint, timestamptz, varchar, bigint, varchar, varchar,"
        " varchar, varchar, varchar, varchar, varchar, jsonb, varchar)",
        "audit_remove_entries_before(bigint, timestamptz, integer)",
        "audit_purge_organization(bigint)",
    )

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "seq"], name="audit_entry_seq_unique"
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "-created_at"], name="audit_entry_time_idx"
            ),
            models.Index(
                fields=["organization", "action"], name="audit_entry_action_idx"
            ),
            models.Index(
                fields=["organization", "target_type", "target_id"],
                name="audit_entry_target_idx",
            ),
            models.Index(
                fields=["organization", "actor_id"], name="audit_entry_actor_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditChainHead(OrganizationModel):
    """The last entry of an organization's chain; its row lock orders writers."""

    organization = models.OneToOneField(
        Organization, on_delete=models.DO_NOTHING, related_name="+"
    )
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    app_role_privileges = ("SELECT", "INSERT", "UPDATE")

    class Meta:
        constraints = organization_constraints()


class AuditCheckpoint(OrganizationModel):
    """Where the chain resumes after retention removed the entries before it."""

    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, related_name="+", db_index=False
    )
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    removed_count = models.BigIntegerField()
    created_at = models.DateTimeField()

    app_role_privileges = ("SELECT",)

    class Meta:
        constraints = organization_constraints()
        indexes = [
            models.Index(
                fields=["organization", "-seq"], name="audit_checkpoint_seq_idx"
            ),
        ]
