"""Invitations: how a person who already has an account joins another organization.

An admin cannot make an existing account a member on their own say: the
membership would give them the admin actions over that person (forced
sign-out, lifting a lockout) and that person's sign-in events. The person is
mailed a signed link instead, and the membership exists once they, signed in,
confirm it. Nothing is stored until then; the link carries the organization,
the person, the role, who invited them and when. It works once: after the
person joined (or was added or removed another way) since it was sent, the
audit log says so and the link is refused, so a member who was removed
cannot come back with it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from audit.models import AuditEntry
from clozup import services
from clozup.models import Membership, Organization, User
from clozup.tenancy import org_context

logger = logging.getLogger(__name__)

INVITATION_SALT = "clozup.invitations.accept"
INVITATION_MAX_AGE = 3 * 24 * 3600


class InvitationInvalid(ValueError):
    """The link was changed, has expired, or its invitation no longer holds."""


class InvitationForAnotherPerson(PermissionError):
    """The signed-in person is not the one the invitation was sent to."""


@dataclass(frozen=True)
class Invitation:
    organization: Organization
    user_id: int
    role: str
    invited_by_id: int
    sent_at: datetime

    @property
    def role_label(self) -> str:
        return Membership.Role(self.role).label


@transaction.atomic
def add_or_invite_member(
    organization: Organization,
    email: str,
    *,
    role: str,
    actor: User,
    build_url: Callable[[str], str],
    request=None,
) -> Membership | None:
    """Add the person by email, or invite them if they already have an account.

    A new address gets an account and the membership at once: nobody else
    controls it yet. An existing account gets an invitation email and None is
    returned. Call inside the organization's context; `build_url(path)` makes
    the link absolute. Raises MembershipChangeRefused as `add_member` does.
    """
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        user, _ = services.get_or_create_user(email)
        return services.add_member(
            organization, user, role=role, actor=actor, request=request
        )

    invite_member(
        organization,
        existing,
        role=role,
        actor=actor,
        build_url=build_url,
        request=request,
    )
    return None


@transaction.atomic
def invite_member(
    organization: Organization,
    user: User,
    *,
    role: str,
    actor: User,
    build_url: Callable[[str], str],
    request=None,
) -> None:
    """Mail `user` a link to join the organization with `role`. Audited.

    The mail leaves once the transaction commits. Call inside the
    organization's context; raises MembershipChangeRefused if `actor` may not
    grant the role.
    """
    services.check_membership_change(organization.pk, actor=actor, roles={role})

    payload = {
        "o": organization.pk,
        "u": user.pk,
        "r": role,
        "i": actor.pk,
        "t": int(timezone.now().timestamp()),
    }
    token = signing.dumps(payload, salt=INVITATION_SALT, compress=True)
    context = {
        "organization": organization,
        "role": Membership.Role(role).label,
        "inviter": actor.full_name or actor.email,
        "url": build_url(reverse("accept-invitation", args=[token])),
        "days": INVITATION_MAX_AGE // (24 * 3600),
    }
    audit.record_event(
        Action.MEMBER_INVITED,
        organization=organization,
        actor=actor,
        target=user,
        metadata={"user_id": user.pk, "role": role},
        request=request,
    )
    transaction.on_commit(lambda: _send_invitation(user.email, context))


def _send_invitation(email: str, context: dict) -> None:
    subject = render_to_string("clozup/email/invitation_subject.txt", context)
    send_mail(
        subject=subject.strip(),
        message=render_to_string("clozup/email/invitation_message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
        html_message=render_to_string("clozup/email/invitation_message.html", context),
    )
    logger.info("invitation sent")


def read_invitation(token: str) -> Invitation:
    """The invitation a link stands for; raises InvitationInvalid."""
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE)
        organization = Organization.objects.get(pk=payload["o"])
        return Invitation(
            organization=organization,
            user_id=int(payload["u"]),
            role=Membership.Role(payload["r"]).value,
            invited_by_id=int(payload["i"]),
            sent_at=datetime.fromtimestamp(int(payload["t"]), tz=UTC),
        )
    except (signing.BadSignature, Organization.DoesNotExist, KeyError, ValueError):
        raise InvitationInvalid("the link is invalid or has expired") from None


def accept_invitation(
    invitation: Invitation, *, user: User, request=None
) -> Membership:
    """Make the invited person a member, once; opening the link again while a
    member changes nothing.

    Refused (InvitationForAnotherPerson) for anyone but the invited person, and
    (InvitationInvalid) when the organization is cancelled or whoever invited
    may no longer grant the role. Audited as `member.added` by the person,
    with who invited them.
    """
    if user.pk != invitation.user_id:
        raise InvitationForAnotherPerson("the invitation is for another person")

    organization = invitation.organization
    with org_context(organization):
        existing = Membership.objects.filter(
            organization=organization, user_id=user.pk
        ).first()
        if existing is not None:
            return existing
        if _membership_changed_since(user, invitation.sent_at):
            raise InvitationInvalid("the invitation was used already")

        try:
            services.ensure_writable(organization)
            inviter = User.objects.get(pk=invitation.invited_by_id)
            return services.add_member(
                organization,
                user,
                role=invitation.role,
                actor=user,
                invited_by=inviter,
                request=request,
            )
        except (
            services.OrganizationReadOnly,
            services.MembershipChangeRefused,
            User.DoesNotExist,
        ):
            raise InvitationInvalid("the invitation no longer holds") from None


def _membership_changed_since(user: User, sent_at: datetime) -> bool:
    """Whether the person joined or left the current organization after
    `sent_at`, as its audit log records (inside its context)."""
    return AuditEntry.objects.filter(
        action__in=(Action.MEMBER_ADDED, Action.MEMBER_REMOVED),
        metadata__user_id=user.pk,
        created_at__gte=sent_at,
    ).exists()
