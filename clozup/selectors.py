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


def get_member_role(user: User, organization_id: int) -> str | None:
    """The user's role in the organization, or None if they are not a member."""
    return (
        Membership.objects.filter(organization_id=organization_id, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
