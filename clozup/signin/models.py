"""Each organization's sign-in rules: MFA, session limits, single sign-on.

All three tables hold an organization's data and are under row-level
security. `SSODomain` is also readable, one row at a time, by naming its
domain (`tenancy.sso_domain_context`): the sign-in page must find the
organization that owns an email's domain before anyone is signed in.
"""

import secrets

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from clozup.lib.encrypted_fields import EncryptedTextField, PreallocatedBigAutoField
from clozup.models import Membership, OrganizationModel
from clozup.models import organization_constraints as _org_constraints

MIN_IDLE_MINUTES = 5
MIN_LIFETIME_HOURS = 1


class SecurityPolicy(OrganizationModel):
    """An organization's sign-in rules, edited by its owners and admins.

    Empty timeouts mean the platform defaults (`SESSION_IDLE_TIMEOUT`,
    `SESSION_COOKIE_AGE`); an organization may shorten them, never lengthen.
    """

    require_mfa = models.BooleanField(
        default=False,
        help_text="Enterprise plan: members must set up an authenticator app or "
        "a passkey before they reach any of the organization's data.",
    )
    idle_timeout_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Sign a member out after this long without a request.",
    )
    session_lifetime_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Sign a member out this long after they signed in, active or not.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "security settings"
        verbose_name_plural = "security settings"
        constraints = _org_constraints(
            models.UniqueConstraint(
                fields=["organization"], name="securitypolicy_one_per_org"
            ),
            models.CheckConstraint(
                condition=models.Q(idle_timeout_minutes__isnull=True)
                | models.Q(idle_timeout_minutes__gte=MIN_IDLE_MINUTES),
                name="securitypolicy_idle_timeout_min",
            ),
            models.CheckConstraint(
                condition=models.Q(session_lifetime_hours__isnull=True)
                | models.Q(session_lifetime_hours__gte=MIN_LIFETIME_HOURS),
                name="securitypolicy_lifetime_min",
            ),
        )

    def __str__(self) -> str:
        return "Security settings"


class IdentityProvider(OrganizationModel):
    """The organization's single sign-on: a SAML or OpenID Connect provider.

    Enterprise plan only. Members whose email domain is one of the
    organization's verified `SSODomain`s sign in here and nowhere else; a
    person signing in for the first time becomes a member with `default_role`.
    """

    class Protocol(models.TextChoices):
        SAML = "saml", "SAML 2.0"
        OIDC = "oidc", "OpenID Connect"

    # The client secret is sealed with the row id, known before the INSERT.
    id = PreallocatedBigAutoField(primary_key=True)
    protocol = models.CharField(
        max_length=10, choices=Protocol.choices, default=Protocol.SAML
    )
    is_active = models.BooleanField(
        default=False,
        help_text="Send members of the verified domains to this provider.",
    )
    default_role = models.CharField(
        max_length=20,
        choices=Membership.Role.choices,
        default=Membership.Role.REP,
        help_text="The role of a person who signs in here for the first time.",
    )
    saml_entity_id = models.CharField("SAML entity id", max_length=500, blank=True)
    saml_sso_url = models.URLField("SAML sign-in URL", max_length=500, blank=True)
    saml_certificate = models.TextField(
        "SAML signing certificate",
        blank=True,
        help_text="The identity provider's X.509 certificate, PEM encoded.",
    )
    saml_metadata_url = models.URLField(
        "SAML metadata URL",
        max_length=500,
        blank=True,
        help_text="Instead of the three fields above: where the provider "
        "publishes its metadata.",
    )
    saml_metadata_xml = models.TextField(
        "SAML metadata XML",
        blank=True,
        help_text="Or the metadata document itself.",
    )
    oidc_server_url = models.URLField(
        "OpenID Connect issuer URL", max_length=500, blank=True
    )
    oidc_client_id = models.CharField(
        "OpenID Connect client id", max_length=255, blank=True
    )
    oidc_client_secret = EncryptedTextField("OpenID Connect client secret", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "single sign-on provider"
        constraints = _org_constraints(
            models.UniqueConstraint(
                fields=["organization"], name="identityprovider_one_per_org"
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_protocol_display()} single sign-on"


def _verification_token() -> str:
    return secrets.token_urlsafe(24)


class SSODomain(OrganizationModel):
    """An email domain whose people sign in through the organization's provider.

    A domain counts only once verified by a DNS TXT record, so that no
    organization can route (or sign in) people of a domain it does not own.
    A domain belongs to one organization at most.
    """

    domain = models.CharField(max_length=253)
    verification_token = models.CharField(
        max_length=64, default=_verification_token, editable=False
    )
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "single sign-on domain"
        constraints = _org_constraints(
            # Across organizations: a domain has one owner at most.
            models.UniqueConstraint(fields=["domain"], name="ssodomain_domain_unique"),
            models.CheckConstraint(
                condition=models.Q(domain=Lower("domain")),
                name="ssodomain_domain_lowercase",
            ),
        )
        indexes = [
            models.Index(
                fields=["organization", "domain"], name="ssodomain_org_domain_idx"
            )
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def dns_record_name(self) -> str:
        return f"_clozup-verification.{self.domain}"

    @property
    def dns_record_value(self) -> str:
        return f"clozup-domain-verification={self.verification_token}"
