import secrets
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import transaction

from clozup.models import Membership, Organization, User
from clozup.tenancy import org_context


class OrganizationSlugTaken(ValueError):
    pass


@dataclass(frozen=True)
class NewOrganization:
    organization: Organization
    owner: User
    # Set only when the owner's account was created here; shown once.
    initial_password: str | None


def get_or_create_user(email: str, *, full_name: str = "") -> tuple[User, str | None]:
    """Find a user by email, or create one with a random password it returns."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, None
    password = secrets.token_urlsafe(12)
    user = User.objects.create_user(email, password, full_name=full_name)
    # Accounts made by an operator or an import start verified: whoever created
    # them vouched for the address.
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user, password


@transaction.atomic
def create_organization(
    *, name: str, slug: str, plan: str, owner_email: str, owner_name: str = ""
) -> NewOrganization:
    """Create an organization with its owner, default pipeline and settings."""
    from crm.services import pipeline as crm_pipeline

    if Organization.objects.filter(slug=slug).exists():
        raise OrganizationSlugTaken(f"slug: an organization {slug!r} already exists")

    organization = Organization.objects.create(name=name, slug=slug, plan=plan)
    owner, password = get_or_create_user(owner_email, full_name=owner_name)
    with org_context(organization):
        Membership.objects.create(
            organization=organization, user=owner, role=Membership.Role.OWNER
        )
        crm_pipeline.create_default_pipeline(organization)
    return NewOrganization(organization, owner, password)


def add_member(organization: Organization, user: User, *, role: str) -> Membership:
    """Add a user to the organization. Call inside the organization's context."""
    return Membership.objects.create(organization=organization, user=user, role=role)
