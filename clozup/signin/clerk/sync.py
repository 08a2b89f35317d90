"""Keep users, organizations and memberships in step with Clerk's webhooks.

Clerk delivers each event at least once and in no guaranteed order, so every
function here is an upsert or an idempotent removal, and a membership event
may create the user or organization it names before their own events come.
Changes are audited with the system as actor, like any other sync.
"""

import logging

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from audit import services as audit
from audit.actions import Action
from clozup import services as accounts
from clozup.models import Membership, Organization, User
from clozup.signin import services as signin_services
from clozup.tenancy import org_context, user_context

logger = logging.getLogger(__name__)

ROLES = {"org:admin": Membership.Role.ADMIN, "admin": Membership.Role.ADMIN}


class UnusableEvent(ValueError):
    """The event lacks what Clozup needs (an id, an email address)."""


def _primary_email(data: dict) -> str:
    addresses = data.get("email_addresses") or []
    primary_id = data.get("primary_email_address_id")
    chosen = next((a for a in addresses if a.get("id") == primary_id), None)
    chosen = chosen or (addresses[0] if addresses else None)
    if not chosen or not chosen.get("email_address"):
        raise UnusableEvent("email_addresses: no address for the user")
    return chosen["email_address"].strip().lower()


@transaction.atomic
def sync_user(data: dict) -> User:
    """Create or update the local user mirroring a Clerk user; no password."""
    clerk_id = data.get("id")
    if not clerk_id:
        raise UnusableEvent("id: missing")
    email = _primary_email(data)
    full_name = " ".join(
        part for part in (data.get("first_name"), data.get("last_name")) if part
    )

    user = User.objects.filter(clerk_id=clerk_id).first()
    if user is None:
        # An account made before Clerk (or by an operator) with that address
        # becomes the mirror; its password, if any, is dropped.
        user = User.objects.filter(email__iexact=email).first() or User(email=email)
        user.clerk_id = clerk_id
    user.email = email
    user.full_name = full_name or user.full_name
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.filter(user=user).exclude(email__iexact=email).delete()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def _user_for(clerk_user_id: str, data: dict | None = None) -> User | None:
    user = User.objects.filter(clerk_id=clerk_user_id).first()
    if user is None and data and data.get("identifier"):
        user = sync_user(
            {
                "id": clerk_user_id,
                "email_addresses": [{"id": "_", "email_address": data["identifier"]}],
                "first_name": data.get("first_name"),
                "last_name": data.get("last_name"),
            }
        )
    return user


@transaction.atomic
def delete_user(clerk_id: str) -> bool:
    """End the person's memberships, sessions and account; False if unknown."""
    user = User.objects.filter(clerk_id=clerk_id).first()
    if user is None:
        return False
    signin_services.revoke_sessions(user)
    with user_context(user.pk):
        memberships = list(Membership.objects.filter(user_id=user.pk))
    for membership in memberships:
        with org_context(membership.organization_id):
            audit.record_event(
                Action.MEMBER_REMOVED,
                organization=membership.organization_id,
                actor=None,
                target=membership,
                metadata={"user_id": user.pk, "role": membership.role},
            )
            membership.delete()
    user.delete()
    logger.info("user deleted in Clerk", extra={"memberships": len(memberships)})
    return True


def _unique_slug(name: str, slug: str) -> str:
    base = slugify(slug or name)[:50] or "organization"
    candidate, n = base, 1
    while Organization.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@transaction.atomic
def sync_organization(data: dict) -> Organization:
    """Create or rename the organization mirroring a Clerk organization."""
    from crm import services as crm_services

    clerk_id = data.get("id")
    if not clerk_id:
        raise UnusableEvent("id: missing")
    name = (data.get("name") or "").strip() or clerk_id

    organization = Organization.objects.filter(clerk_id=clerk_id).first()
    if organization is not None:
        if organization.name != name:
            organization.name = name
            organization.save(update_fields=["name"])
        return organization

    organization = Organization.objects.create(
        name=name, slug=_unique_slug(name, data.get("slug", "")), clerk_id=clerk_id
    )
    with org_context(organization):
        audit.record_event(
            Action.ORGANIZATION_CREATED,
            organization=organization,
            actor=None,
            target=organization,
            metadata={"plan": organization.plan, "via": "clerk"},
        )
        crm_services.create_default_pipeline(organization)
    return organization


@transaction.atomic
def cancel_organization(clerk_id: str) -> bool:
    """An organization deleted in Clerk starts its cancellation grace period."""
    organization = Organization.objects.filter(clerk_id=clerk_id).first()
    if organization is None or not organization.is_active:
        return False
    organization.status = Organization.Status.CANCELLED
    organization.cancelled_at = timezone.now()
    organization.save(update_fields=["status", "cancelled_at"])
    with org_context(organization):
        audit.record_event(
            Action.ORGANIZATION_CANCELLED,
            organization=organization,
            actor=None,
            target=organization,
            metadata={"via": "clerk"},
        )
    return True


@transaction.atomic
def sync_membership(data: dict) -> Membership:
    """Add or update a membership; the first admin of an ownerless org owns it."""
    organization = sync_organization(data.get("organization") or {})
    user_data = data.get("public_user_data") or {}
    user = _user_for(user_data.get("user_id", ""), user_data)
    if user is None:
        raise UnusableEvent("public_user_data: unknown user without an identifier")
    role = ROLES.get(data.get("role", ""), Membership.Role.REP)

    with org_context(organization):
        membership = Membership.objects.filter(user=user).first()
        has_owner = Membership.objects.filter(role=Membership.Role.OWNER).exists()
        if role == Membership.Role.ADMIN and not has_owner:
            role = Membership.Role.OWNER
        if membership is None:
            return accounts.add_member(organization, user, role=role, actor=None)
        if membership.role != role and membership.role != Membership.Role.OWNER:
            accounts.change_member_role(membership, role=role, actor=None)
        return membership


@transaction.atomic
def remove_membership(data: dict) -> bool:
    organization = Organization.objects.filter(
        clerk_id=(data.get("organization") or {}).get("id", "")
    ).first()
    user = User.objects.filter(
        clerk_id=(data.get("public_user_data") or {}).get("user_id", "")
    ).first()
    if organization is None or user is None:
        return False
    with org_context(organization):
        membership = Membership.objects.filter(user=user).first()
        if membership is None:
            return False
        try:
            accounts.remove_member(membership, actor=None)
        except accounts.LastOwnerError:
            logger.warning("Clerk removed an organization's last owner; kept")
            return False
    return True


HANDLERS = {
    "user.created": lambda data: sync_user(data),
    "user.updated": lambda data: sync_user(data),
    "user.deleted": lambda data: delete_user(data.get("id", "")),
    "organization.created": lambda data: sync_organization(data),
    "organization.updated": lambda data: sync_organization(data),
    "organization.deleted": lambda data: cancel_organization(data.get("id", "")),
    "organizationMembership.created": lambda data: sync_membership(data),
    "organizationMembership.updated": lambda data: sync_membership(data),
    "organizationMembership.deleted": lambda data: remove_membership(data),
}


def apply_event(event: dict) -> bool:
    """Apply one verified webhook event; False for types Clozup ignores."""
    handler = HANDLERS.get(event.get("type", ""))
    if handler is None:
        return False
    handler(event.get("data") or {})
    return True
