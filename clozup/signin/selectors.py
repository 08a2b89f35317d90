"""Reads that decide sign-in: policies, second factors, single sign-on routes."""

from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialApp
from allauth.usersessions.models import UserSession
from django.db.models import QuerySet
from django.urls import reverse

from clozup.models import Membership, Organization, User
from clozup.signin.models import IdentityProvider, SecurityPolicy, SSODomain
from clozup.tenancy import org_context, sso_domain_context, user_context

SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
SAML_PREFIX = "saml-"
OIDC_PREFIX = "oidc-"


def get_security_policy(organization) -> SecurityPolicy:
    """The organization's settings (unsaved defaults when none were saved).

    Call inside the organization's context.
    """
    org_id = getattr(organization, "pk", organization)
    policy = SecurityPolicy.objects.filter(organization_id=org_id).first()
    return policy or SecurityPolicy(organization_id=org_id)


def is_mfa_enforced(organization: Organization, policy: SecurityPolicy) -> bool:
    """Requiring MFA is an Enterprise feature; on other plans it does nothing."""
    return organization.plan == Organization.Plan.ENTERPRISE and policy.require_mfa


def list_second_factors(user: User) -> QuerySet[Authenticator]:
    """Authenticators that count as MFA: an authenticator app or a passkey."""
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS)


def has_second_factor(user: User) -> bool:
    return list_second_factors(user).exists()


def is_mfa_required_for_user(user: User) -> bool:
    """Does any organization the user belongs to require MFA of its members?"""
    with user_context(user.pk):
        memberships = list(
            Membership.objects.filter(user_id=user.pk).select_related("organization")
        )
    for membership in memberships:
        organization = membership.organization
        with org_context(organization):
            if is_mfa_enforced(organization, get_security_policy(organization)):
                return True
    return False


@dataclass(frozen=True)
class SingleSignOn:
    """An organization's active identity provider and the domains it serves."""

    organization: Organization
    provider: IdentityProvider
    domains: tuple[str, ...]

    @property
    def provider_id(self) -> str:
        if self.provider.protocol == IdentityProvider.Protocol.SAML:
            return SAML_PREFIX + self.organization.slug
        return OIDC_PREFIX + self.organization.slug

    @property
    def login_url(self) -> str:
        if self.provider.protocol == IdentityProvider.Protocol.SAML:
            slug = self.organization.slug
            return reverse("saml_login", kwargs={"organization_slug": slug})
        return reverse("openid_connect_login", kwargs={"provider_id": self.provider_id})

    def build_app(self) -> SocialApp:
        """An allauth app (never saved) speaking for the verified domains only."""
        common = {
            "verified_email": list(self.domains),
            "email_authentication": True,
        }
        provider = self.provider
        if provider.protocol == IdentityProvider.Protocol.OIDC:
            return SocialApp(
                provider="openid_connect",
                provider_id=self.provider_id,
                name=self.organization.name,
                client_id=provider.oidc_client_id,
                secret=_reveal(provider.oidc_client_secret),
                settings={**common, "server_url": provider.oidc_server_url},
            )

        if provider.saml_metadata_url:
            idp = {
                "entity_id": provider.saml_entity_id,
                "metadata_url": provider.saml_metadata_url,
            }
        else:
            idp = {
                "entity_id": provider.saml_entity_id,
                "sso_url": provider.saml_sso_url,
                "x509cert": provider.saml_certificate,
            }
        return SocialApp(
            provider="saml",
            provider_id=self.provider_id,
            name=self.organization.name,
            client_id=self.organization.slug,
            settings={
                **common,
                "idp": idp,
                "attribute_mapping": {},
                "advanced": {
                    "want_assertion_signed": True,
                    "reject_idp_initiated_sso": True,
                    "allow_single_label_domains": False,
                },
            },
        )


def _reveal(secret) -> str:
    return secret.reveal() if secret else ""


def get_sso_for_organization(organization: Organization) -> SingleSignOn | None:
    """The organization's single sign-on, if it is on and may be used."""
    if organization.plan != Organization.Plan.ENTERPRISE or not organization.is_active:
        return None
    with org_context(organization):
        provider = IdentityProvider.objects.filter(
            organization=organization, is_active=True
        ).first()
        domains = tuple(
            SSODomain.objects.filter(
                organization=organization, verified_at__isnull=False
            ).values_list("domain", flat=True)
        )
    if provider is None:
        return None
    return SingleSignOn(organization, provider, domains)


def is_domain_claimed(domain: str) -> bool:
    """Has any organization (verified or not) claimed this domain?"""
    with sso_domain_context(domain):
        return SSODomain.objects.filter(domain=domain.lower()).exists()


def get_sso_for_email(email: str) -> SingleSignOn | None:
    """The single sign-on that owns this address's domain, if any."""
    domain = email.rpartition("@")[2].strip().lower()
    if not domain:
        return None
    with sso_domain_context(domain):
        org_id = (
            SSODomain.objects.filter(domain=domain, verified_at__isnull=False)
            .values_list("organization_id", flat=True)
            .first()
        )
    if org_id is None:
        return None
    return get_sso_for_organization(Organization.objects.get(pk=org_id))


def find_sso_for_provider(provider: str | None, client_id: str | None):
    """The organization's single sign-on named by an allauth provider lookup.

    allauth names SAML apps by ("saml", organization slug) and every app by
    its provider id; organization apps use "saml-<slug>" and "oidc-<slug>".
    """
    if not provider:
        return None
    if provider == "saml" and client_id:
        slug, protocol = client_id, IdentityProvider.Protocol.SAML
    elif provider.startswith(SAML_PREFIX):
        slug, protocol = provider[len(SAML_PREFIX) :], IdentityProvider.Protocol.SAML
    elif provider.startswith(OIDC_PREFIX):
        slug, protocol = provider[len(OIDC_PREFIX) :], IdentityProvider.Protocol.OIDC
    else:
        return None

    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        return None
    sso = get_sso_for_organization(organization)
    if sso is None or sso.provider.protocol != protocol:
        return None
    if client_id and provider != "saml" and client_id != sso.build_app().client_id:
        return None
    return sso


def find_member_by_email(email: str) -> Membership | None:
    """The current organization's member with this email, if any.

    Call inside the organization's context: RLS hides every other one.
    """
    return (
        Membership.objects.select_related("user")
        .filter(user__email__iexact=email.strip())
        .first()
    )


def count_sessions(user: User) -> int:
    """How many sessions of the person are listed (signed in browsers)."""
    return UserSession.objects.filter(user_id=user.pk).count()
