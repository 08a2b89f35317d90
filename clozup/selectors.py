from django.db.models import QuerySet

from clozup.models import Membership, Organization, User


def list_memberships(user: User) -> QuerySet[Membership]:
    """The user's memberships in every organization.

    Readable only inside `user_context(user.pk)`, or inside the organization's
    own context.
    """
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("created_at", "id")
    )


def get_current_membership(
    memberships: list[Membership], organization_id: int | None
) -> Membership | None:
    """The membership for the organization chosen in the session, else the first."""
    for membership in memberships:
        if membership.organization_id == organization_id:
            return membership
    return memberships[0] if memberships else None


def get_organization_by_slug(slug: str) -> Organization:
    return Organization.objects.get(slug=slug)


def can_manage_members(user: User, organization_id: int) -> bool:
    """Owners and admins add, change and remove the organization's members."""
    return Membership.objects.filter(
        organization_id=organization_id,
        user_id=user.pk,
        role__in=(Membership.Role.OWNER, Membership.Role.ADMIN),
    ).exists()


def can_manage_owners(user: User, organization_id: int) -> bool:
    """Only an owner grants the owner role or changes or removes an owner."""
    return Membership.objects.filter(
        organization_id=organization_id, user_id=user.pk, role=Membership.Role.OWNER
    ).exists()
