import secrets

from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from clozup.lib.encrypted_fields import EncryptedTextField, PreallocatedBigAutoField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("email: a user needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Belongs to organizations through memberships.

    Users are global rather than per organization, because one person may work
    for several organizations with one sign-in. `is_staff` marks Clozup's own
    operators; it grants no access to any organization's records.
    """

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Every session (or Clerk sign-in) that began before this moment has ended.
    sessions_revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The Clerk user this account mirrors when AUTH_PROVIDER is clerk.
    clerk_id = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@", 1)[0]


def new_address_salt() -> str:
    return secrets.token_hex(32)


class Organization(models.Model):
    """The tenant. Every organization table points here through organization_id.

    This table itself has no row-level security: it is the registry that the
    tenancy middleware and support commands read to find an organization by
    slug, and it holds no personal data.
    """

    class Plan(models.TextChoices):
        FREE = "free", "Free"
        PRO = "pro", "Pro"
        ENTERPRISE = "enterprise", "Enterprise"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The Clerk organization this one mirrors when AUTH_PROVIDER is clerk.
    clerk_id = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    # Keys the hash that names a person in the consent ledger
    # (clozup.lib.addresses), so one address hashes differently in each
    # organization. Never shown, never changed: a new salt would orphan
    # every suppression.
    address_salt = models.CharField(
        max_length=64, default=new_address_salt, editable=False
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="active", cancelled_at__isnull=True)
                | models.Q(status="cancelled", cancelled_at__isnull=False),
                name="organization_cancelled_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class OrganizationModel(models.Model):
    """Base of every table that holds an organization's data.

    Subclasses get the organization column (indexed first, for RLS and for
    distribution by organization later) and a unique (organization_id, id)
    key that composite foreign keys from other organization tables reference.
    Their migration must enable RLS; tests/clozup/test_rls_schema.py fails
    when one does not.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "id"], name="%(app_label)s_%(class)s_org_pk"
            ),
        ]


def organization_constraints(*constraints):
    """Meta.constraints for an OrganizationModel: the org key plus these."""
    return [*OrganizationModel.Meta.constraints, *constraints]


class Membership(OrganizationModel):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        REP = "rep", "Sales rep"

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REP)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_one_per_user_and_org"
            ),
        )
        indexes = [
            models.Index(fields=["user", "organization"], name="membership_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class OrganizationKey(OrganizationModel):
    """The organization's data key, itself sealed by the key ring.

    Files are encrypted with a key of their own, wrapped by this one. When the
    organization is purged the key is destroyed (emptied, with the time kept),
    so every copy of its files left anywhere can no longer be decrypted.
    """

    id = PreallocatedBigAutoField(primary_key=True)
    key = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization"], name="organizationkey_one_per_org"
            ),
            models.CheckConstraint(
                condition=models.Q(key="", destroyed_at__isnull=False)
                | (~models.Q(key="") & models.Q(destroyed_at__isnull=True)),
                name="organizationkey_destroyed_means_empty",
            ),
        )

    def __str__(self) -> str:
        state = "destroyed" if self.destroyed_at else "active"
        return f"Data key of organization {self.organization_id} ({state})"


def _member_fk():
    return models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )


class IntegrationCredential(OrganizationModel):
    """An API key or OAuth token the organization gave Clozup for an integration.

    The secret parts are encrypted in the application (see
    `clozup.lib.encrypted_fields`); the Admin Panel shows them masked only.
    """

    class Kind(models.TextChoices):
        API_KEY = "api_key", "API key"
        OAUTH = "oauth", "OAuth token"

    id = PreallocatedBigAutoField(primary_key=True)
    provider = models.SlugField(
        max_length=60,
        db_index=False,
        help_text="The service it opens, e.g. hubspot or openai.",
    )
    label = models.CharField(
        max_length=120, blank=True, help_text="Tells two credentials apart."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.API_KEY)
    secret = EncryptedTextField(help_text="The API key, or the OAuth access token.")
    refresh_token = EncryptedTextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = _member_fk()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "provider", "label"],
                name="integrationcredential_unique_label",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="oauth") | models.Q(refresh_token=""),
                name="integrationcredential_refresh_only_oauth",
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "created_by"],
                name="integrationcredential_by_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.label}".strip()


class WebhookEndpoint(OrganizationModel):
    """An https URL of the organization's that Clozup posts events to, signed.

    Each request carries `Clozup-Signature: t=<unix time>,v1=<hex>`, the
    HMAC-SHA256 of "<t>.<body>" under the signing secret, which is encrypted
    here and shown to an admin once, when made or rotated.
    """

    id = PreallocatedBigAutoField(primary_key=True)
    url = models.URLField(max_length=500, help_text="Must start with https://.")
    description = models.CharField(max_length=200, blank=True)
    # Event names this endpoint receives; empty means every event.
    events = models.JSONField(default=list, blank=True)
    signing_secret = EncryptedTextField()
    is_active = models.BooleanField(default=True)
    created_by = _member_fk()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = organization_constraints(
            models.CheckConstraint(
                condition=models.Q(url__startswith="https://"),
                name="webhookendpoint_https_only",
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "created_by"], name="webhookendpoint_by_idx"
            )
        ]

    def __str__(self) -> str:
        return self.url

    def receives(self, event: str) -> bool:
        return self.is_active and (not self.events or event in self.events)


class WebhookDelivery(OrganizationModel):
    """One event sent (or being sent) to one endpoint.

    The payload is kept only until the delivery succeeds or is given up.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    event = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = organization_constraints()
        indexes = [
            models.Index(
                fields=["organization", "endpoint", "-created_at"],
                name="webhookdelivery_endpoint_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"
