"""Changes of sign-in state: sessions, lockouts, members arriving by SSO.

Each function records its audit event in the caller's transaction; callers
that work on an organization's members call inside that organization's
context.
"""

import logging
import time
from datetime import timedelta

from allauth.usersessions.models import UserSession
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import logout
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup import services as accounts
from clozup.models import Membership, Organization, User
from clozup.signin.models import SSODomain
from clozup.tenancy import org_context, user_context

logger = logging.getLogger(__name__)

# Session keys, in seconds since the epoch: when this session's sign-in
# happened, when the person last proved who they are (sign-in or
# re-authentication), and when the session was last used.
SIGNED_IN_AT = "signin_signed_in_at"
AUTHENTICATED_AT = "signin_authenticated_at"
LAST_SEEN_AT = "signin_last_seen_at"
# Last-seen is written at most this often, so a busy session is not saved on
# every request; the idle timeout is therefore exact to within this.
TOUCH_INTERVAL = 60


class EndReason:
    IDLE = "idle"
    LIFETIME = "lifetime"
    REVOKED = "revoked"
    BY_USER = "by_user"


def start_session(request) -> None:
    """Stamp a fresh sign-in on the session (called for every login)."""
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[AUTHENTICATED_AT] = now
    request.session[LAST_SEEN_AT] = now


def touch_session(request, *, ip: str, now: float) -> None:
    """Note that the session is in use; at most every TOUCH_INTERVAL seconds."""
    last_seen = request.session.get(LAST_SEEN_AT, 0)
    if now - last_seen < TOUCH_INTERVAL:
        return
    request.session[LAST_SEEN_AT] = now
    if request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).update(
            last_seen_at=timezone.now(), ip=ip
        )


def end_current_session(request, *, reason: str) -> None:
    """Sign the request's user out of this session, for a policy reason.

    Recorded in the organization whose rule ended it (the request's).
    """
    user = request.user
    key = request.session.session_key
    organization = request.organization
    if organization is not None:
        audit.record_event(
            Action.SESSION_ENDED,
            organization=organization,
            actor=None,
            target=("clozup.user", user.pk),
            metadata={"reason": reason},
            request=request,
        )
    request.signin_policy_logout = True
    logout(request)
    if key:
        UserSession.objects.filter(session_key=key).delete()
    logger.info("session ended", extra={"user_id": user.pk, "end_reason": reason})


def end_user_session(user: User, session: UserSession, *, request=None) -> None:
    """End one of the user's own sessions (from their list of sessions)."""
    if session.user_id != user.pk:
        raise PermissionError("session: not one of this user's sessions")
    session.end()
    record_for_person(
        user,
        Action.SESSION_ENDED,
        actor=user,
        metadata={"reason": EndReason.BY_USER, "session_id": session.pk},
        request=request,
    )
    logger.info(
        "session ended", extra={"user_id": user.pk, "end_reason": EndReason.BY_USER}
    )


@transaction.atomic
def revoke_sessions(user: User) -> int:
    """End every session of the user, wherever it is; returns how many were listed.

    Effective on each session's next request: the policy middleware signs out
    any session that began before `sessions_revoked_at`, including sessions
    nobody listed (and Clerk sign-ins).
    """
    user.sessions_revoked_at = timezone.now()
    user.save(update_fields=["sessions_revoked_at"])
    sessions = list(UserSession.objects.filter(user_id=user.pk))
    for session in sessions:
        session.end()
    logger.info("sessions revoked", extra={"user_id": user.pk, "count": len(sessions)})
    return len(sessions)


def is_revoked(user: User, signed_in_at: float) -> bool:
    revoked_at = user.sessions_revoked_at
    return revoked_at is not None and signed_in_at < revoked_at.timestamp()


def unlock_sign_in(email: str) -> int:
    """Lift a lockout on this email; returns the number of attempts cleared."""
    count = AxesProxyHandler.reset_attempts(username=email.lower())
    logger.info("sign-in lockout lifted", extra={"attempts": count})
    return count


def is_locked_out(email: str) -> bool:
    threshold = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    failures = AccessAttempt.objects.filter(
        username=email.lower(), attempt_time__gte=threshold
    ).values_list("failures_since_start", flat=True)
    return sum(failures) >= settings.AXES_FAILURE_LIMIT


@transaction.atomic
def save_security_settings(
    settings_row, *, changed: list[str], actor, request=None
) -> None:
    """Save a SecurityPolicy, IdentityProvider or SSODomain. Call in its context.

    The audit event names the fields changed, never their values (a client
    secret or certificate must not reach the log).
    """
    settings_row.save()
    audit.record_event(
        Action.SECURITY_SETTINGS_CHANGED,
        organization=settings_row.organization_id,
        actor=actor,
        target=settings_row,
        metadata={"fields": sorted(changed)},
        request=request,
    )
    logger.info("security settings saved", extra={"fields": sorted(changed)})


def join_through_sso(
    user: User, organization: Organization, *, role: str, request=None
) -> Membership | None:
    """Make a person who signed in with the organization's SSO a member.

    Just-in-time provisioning: a first sign-in adds the membership with the
    provider's default role (audited as added by the system); later sign-ins
    change nothing. Call inside the organization's context.
    """
    existing = Membership.objects.filter(organization=organization, user=user).first()
    if existing is not None:
        return None
    membership = accounts.add_member(
        organization, user, role=role, actor=None, request=request
    )
    logger.info("member joined through SSO", extra={"membership_id": membership.pk})
    return membership


def verify_sso_domain(domain: SSODomain, *, actor, request=None) -> bool:
    """Mark the domain verified when its DNS TXT record carries the token."""
    from clozup.lib import dns

    if domain.is_verified:
        return True
    values = dns.txt_values(domain.dns_record_name)
    if domain.dns_record_value not in values:
        logger.info("SSO domain not verified yet", extra={"domain_id": domain.pk})
        return False
    domain.verified_at = timezone.now()
    domain.save(update_fields=["verified_at"])
    audit.record_event(
        Action.SECURITY_SETTINGS_CHANGED,
        organization=domain.organization_id,
        actor=actor,
        target=domain,
        metadata={"fields": ["verified_at"]},
        request=request,
    )
    logger.info("SSO domain verified", extra={"domain_id": domain.pk})
    return True


@transaction.atomic
def force_sign_out(
    membership: Membership, *, actor, request=None, reason: str = ""
) -> int:
    """An admin (or support) ends every session of a member of their organization.

    Effective on the member's next request, in every organization they
    belong to: sessions are per person. Call inside the organization's
    context; returns how many listed sessions were ended.
    """
    count = revoke_sessions(membership.user)
    audit.record_event(
        Action.FORCED_SIGN_OUT,
        organization=membership.organization_id,
        actor=actor,
        target=membership,
        metadata={"user_id": membership.user_id, "sessions": count},
        request=request,
    )
    logger.info(
        "member signed out everywhere",
        extra={"membership_id": membership.pk, "sessions": count},
    )
    return count


@transaction.atomic
def lift_lockout(
    membership: Membership, *, actor, request=None, reason: str = ""
) -> bool:
    """Reopen sign-in for a member locked out after failures; False if none.

    Call inside the organization's context.
    """
    email = membership.user.email
    if not is_locked_out(email):
        return False
    cleared = unlock_sign_in(email)
    audit.record_event(
        Action.LOCKOUT_LIFTED,
        organization=membership.organization_id,
        actor=actor,
        target=membership,
        metadata={"user_id": membership.user_id, "attempts_cleared": cleared},
        request=request,
    )
    logger.info("member's lockout lifted", extra={"membership_id": membership.pk})
    return True


# Sign-in events ---------------------------------------------------------------
#
# A person's sign-ins, failures, lockouts, MFA and password changes are
# recorded in every organization they belong to: each one's admins oversee
# their own members' access. Metadata holds methods, ids and counts only.


def _organizations_of(user: User) -> list[Organization]:
    with user_context(user.pk):
        return [
            membership.organization
            for membership in Membership.objects.filter(user_id=user.pk)
            .select_related("organization")
            .order_by("organization_id")
        ]


def record_for_person(
    user: User,
    action: str,
    *,
    actor=None,
    metadata: dict | None = None,
    request=None,
) -> int:
    """Record the event about this person in each of their organizations."""
    organizations = _organizations_of(user)
    for organization in organizations:
        with org_context(organization):
            audit.record_event(
                action,
                organization=organization,
                actor=actor,
                target=("clozup.user", user.pk),
                metadata=metadata or {},
                request=request,
            )
    return len(organizations)


def record_sign_in(request, user: User, *, methods: list[str], provider: str = ""):
    metadata = {"methods": methods}
    if provider:
        metadata["provider"] = provider
    record_for_person(
        user, Action.SIGN_IN, actor=user, metadata=metadata, request=request
    )


def record_sign_in_failure(request, email: str, *, step: str) -> None:
    """Audited for an account that exists; only logged for an unknown email."""
    user = User.objects.filter(email__iexact=email or "").first()
    if user is None:
        logger.info("sign-in failed for an unknown email", extra={"step": step})
        return
    record_for_person(
        user,
        Action.SIGN_IN_FAILED,
        actor=None,
        metadata={"step": step},
        request=request,
    )


def record_lockout(request, email: str) -> None:
    user = User.objects.filter(email__iexact=email or "").first()
    logger.warning("sign-in locked out", extra={"known_account": user is not None})
    if user is not None:
        record_for_person(
            user,
            Action.LOCKOUT,
            metadata={"failure_limit": settings.AXES_FAILURE_LIMIT},
            request=request,
        )


def record_mfa_change(request, user: User, authenticator, *, added: bool) -> None:
    action = Action.MFA_ADDED if added else Action.MFA_REMOVED
    record_for_person(
        user,
        action,
        actor=user,
        metadata={"type": authenticator.type, "authenticator_id": authenticator.pk},
        request=request,
    )


def record_password_change(request, user: User, *, how: str) -> None:
    record_for_person(
        user,
        Action.PASSWORD_CHANGED,
        actor=user,
        metadata={"how": how},
        request=request,
    )


def record_reauthentication(request, user: User, *, method: str) -> None:
    record_for_person(
        user,
        Action.REAUTHENTICATED,
        actor=user,
        metadata={"method": method},
        request=request,
    )


def record_sign_out(request, user: User) -> None:
    record_for_person(user, Action.SIGN_OUT, actor=user, request=request)
