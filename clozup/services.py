import secrets
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup import selectors
from clozup.models import Membership, Organization, User
from clozup.tenancy import org_context


class OrganizationSlugTaken(ValueError):
    pass


class MembershipChangeRefused(ValueError):
    """A change to a membership that the organization's rules forbid."""


class LastOwnerError(MembershipChangeRefused):
    """An organization must keep at least one owner."""


class OwnerRoleRequired(MembershipChangeRefused):
    """Only an owner may grant the owner role or change or remove an owner."""


class MemberManagementRequired(MembershipChangeRefused):
    """Only an owner or an admin of the organization may manage its members."""


@dataclass(frozen=True)
class NewOrganization:
    organization: Organization
    owner: User
    # Set only when the owner's account was created here; shown once.
    initial_password: str | None


def get_or_create_user(email: str, *, full_name: str = "") -> tuple[User, str | None]:
    """Find a user by email, or create one with a random password it returns.

    Under Clerk (AUTH_PROVIDER=clerk) the account gets no usable password and
    None is returned: Clerk signs the person in.
    """
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, None
    password = None if settings.AUTH_PROVIDER == "clerk" else secrets.token_urlsafe(12)
    user = User.objects.create_user(email, password, full_name=full_name)
    # Accounts made by an operator or an admin start verified: whoever created
    # them vouched for the address.
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user, password


@transaction.atomic
def create_organization(
    *,
    name: str,
    slug: str,
    plan: str,
    owner_email: str,
    owner_name: str = "",
    actor: User | str | None = None,
) -> NewOrganization:
    """Create an organization with its owner and default pipeline; audited."""
    from crm.services import pipeline as crm_pipeline

    if Organization.objects.filter(slug=slug).exists():
        raise OrganizationSlugTaken(f"slug: an organization {slug!r} already exists")

    organization = Organization.objects.create(name=name, slug=slug, plan=plan)
    owner, password = get_or_create_user(owner_email, full_name=owner_name)
    with org_context(organization):
        audit.record_event(
            Action.ORGANIZATION_CREATED,
            organization=organization,
            actor=actor,
            target=organization,
            metadata={"plan": plan},
        )
        add_member(organization, owner, role=Membership.Role.OWNER, actor=actor)
        crm_pipeline.create_default_pipeline(organization)
    return NewOrganization(organization, owner, password)


def add_member(
    organization: Organization,
    user: User,
    *,
    role: str,
    actor: User | str | None,
    request=None,
    invited_by: User | None = None,
) -> Membership:
    """Add a user to the organization; call inside its context. Audited.

    A member acting (`actor`, or `invited_by` for an accepted invitation) must
    be allowed to grant the role; raises MembershipChangeRefused otherwise.
    """
    check_membership_change(organization.pk, actor=invited_by or actor, roles={role})

    membership = Membership.objects.create(
        organization=organization, user=user, role=role
    )
    metadata = {"user_id": user.pk, "role": role}
    if invited_by is not None:
        metadata["invited_by"] = invited_by.pk
    audit.record_event(
        Action.MEMBER_ADDED,
        organization=organization,
        actor=actor,
        target=membership,
        metadata=metadata,
        request=request,
    )
    return membership


@transaction.atomic
def change_member_role(
    membership: Membership, *, role: str, actor: User | str | None, request=None
) -> Membership:
    """Give the member another role. Audited.

    Raises OwnerRoleRequired when an actor who is not an owner touches the
    owner role, and LastOwnerError when the last owner would be demoted.
    """
    previous = Membership.objects.select_for_update().get(pk=membership.pk).role
    if previous == role:
        return membership
    check_membership_change(
        membership.organization_id, actor=actor, roles={previous, role}
    )
    if previous == Membership.Role.OWNER:
        _keep_an_owner(membership)

    membership.role = role
    membership.save(update_fields=["role"])
    audit.record_event(
        Action.MEMBER_ROLE_CHANGED,
        organization=membership.organization_id,
        actor=actor,
        target=membership,
        metadata={"user_id": membership.user_id, "from": previous, "to": role},
        request=request,
    )
    return membership


@transaction.atomic
def remove_member(membership: Membership, *, actor: User | str | None, request=None):
    """End a membership. Records the member owned keep existing, unowned.

    Raises OwnerRoleRequired or LastOwnerError as `change_member_role` does.
    """
    role = Membership.objects.select_for_update().get(pk=membership.pk).role
    check_membership_change(membership.organization_id, actor=actor, roles={role})
    if role == Membership.Role.OWNER:
        _keep_an_owner(membership)

    audit.record_event(
        Action.MEMBER_REMOVED,
        organization=membership.organization_id,
        actor=actor,
        target=membership,
        metadata={"user_id": membership.user_id, "role": membership.role},
        request=request,
    )
    membership.delete()


def is_last_owner(membership: Membership) -> bool:
    if membership.pk is None:
        return False
    stored_role = Membership.objects.filter(pk=membership.pk).values_list(
        "role", flat=True
    )
    if stored_role.first() != Membership.Role.OWNER:
        return False
    other_owners = Membership.objects.filter(
        organization_id=membership.organization_id, role=Membership.Role.OWNER
    ).exclude(pk=membership.pk)
    return not other_owners.exists()


def check_membership_change(
    organization_id: int, *, actor: User | str | None, roles: set[str]
) -> None:
    """Refuse a member who may not make a change that involves these roles.

    `roles` holds the role before and after (one of them for an addition or a
    removal). Operators and the system (support commands, SSO provisioning,
    Clerk) are not members and are not limited here. Call inside the
    organization's context; forms call it to show the error early.
    """
    if not isinstance(actor, User):
        return
    actor_role = selectors.get_member_role(actor, organization_id)
    if actor_role not in (Membership.Role.OWNER, Membership.Role.ADMIN):
        raise MemberManagementRequired(
            "role: only an owner or an admin of the organization may manage members"
        )
    touches_owner = Membership.Role.OWNER in roles
    if touches_owner and actor_role != Membership.Role.OWNER:
        raise OwnerRoleRequired(
            "role: only an owner may grant the owner role or change or remove an owner"
        )


def _keep_an_owner(membership: Membership) -> None:
    # Lock the owners so two admins cannot each remove "the other" last owner.
    owners = Membership.objects.select_for_update().filter(
        organization_id=membership.organization_id, role=Membership.Role.OWNER
    )
    if not owners.exclude(pk=membership.pk).exists():
        raise LastOwnerError("role: the organization must keep at least one owner")


class OrganizationReadOnly(PermissionError):
    """The organization is cancelled: its data can be read and exported only."""


class OrganizationNotCancelled(ValueError):
    """Only a cancelled organization can be reactivated."""


class OrganizationAlreadyCancelled(ValueError):
    """The organization is already cancelled."""


class GracePeriodOver(ValueError):
    """The cancelled organization's grace period is over: its purge is due."""


def ensure_writable(organization: Organization | int) -> None:
    """Refuse a change to a cancelled organization's data.

    Raises OrganizationReadOnly, whose message can be shown to the member.
    """
    organization_id = getattr(organization, "pk", organization)
    status = (
        Organization.objects.filter(pk=organization_id)
        .values_list("status", flat=True)
        .first()
    )
    if status == Organization.Status.CANCELLED:
        raise OrganizationReadOnly(
            "This organization is cancelled and read-only: its data can be viewed"
            " and exported, not changed. An owner can reactivate it in the Admin"
            " Panel."
        )


@transaction.atomic
def cancel_organization(
    organization: Organization, *, actor: User | str | None, request=None
) -> Organization:
    """Cancel the organization: read-only from now, purged after the grace period.

    The purge and the notices before it are the compliance jobs' work
    (`compliance.services.lifecycle`). Audited.
    """
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    if locked.status == Organization.Status.CANCELLED:
        raise OrganizationAlreadyCancelled(
            f"organization {organization.slug!r} is already cancelled"
        )

    organization.status = Organization.Status.CANCELLED
    organization.cancelled_at = timezone.now()
    organization.save(update_fields=["status", "cancelled_at"])

    audit.record_event(
        Action.ORGANIZATION_CANCELLED,
        organization=organization,
        actor=actor,
        target=organization,
        request=request,
    )
    return organization


@transaction.atomic
def reactivate_organization(
    organization: Organization, *, actor: User | str | None, request=None
) -> Organization:
    """End a cancellation before the purge: the organization is writable again.

    Refused once the grace period is over, so that a purge that has begun is
    never raced by a reactivation. Audited with how many days it lasted.
    """
    from compliance.services.lifecycle import purge_due_at

    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    if locked.status != Organization.Status.CANCELLED:
        raise OrganizationNotCancelled(
            f"organization {organization.slug!r} is not cancelled"
        )
    if timezone.now() >= purge_due_at(locked):
        raise GracePeriodOver(
            f"organization {organization.slug!r}: the grace period ended; its"
            " purge is due"
        )

    cancelled_days = (timezone.now() - locked.cancelled_at).days
    organization.status = Organization.Status.ACTIVE
    organization.cancelled_at = None
    organization.save(update_fields=["status", "cancelled_at"])

    audit.record_event(
        Action.ORGANIZATION_REACTIVATED,
        organization=organization,
        actor=actor,
        target=organization,
        metadata={"cancelled_days": cancelled_days},
        request=request,
    )
    return organization
