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

from clozup.models import Membership, Organization, User
from clozup.signin.models import SecurityPolicy, SSODomain

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
    """Sign the request's user out of this session, for a policy reason."""
    user_id = request.user.pk
    key = request.session.session_key
    logout(request)
    if key:
        UserSession.objects.filter(session_key=key).delete()
    logger.info("session ended", extra={"user_id": user_id, "end_reason": reason})


def end_user_session(user: User, session: UserSession) -> None:
    """End one of the user's own sessions (from their list of sessions)."""
    if session.user_id != user.pk:
        raise PermissionError("session: not one of this user's sessions")
    session.end()
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
def save_security_policy(policy: SecurityPolicy, *, changed: list[str]) -> None:
    """Save an organization's sign-in rules. Call in its context."""
    policy.save()
    logger.info("security settings saved", extra={"fields": changed})


def join_through_sso(
    user: User, organization: Organization, *, role: str
) -> Membership | None:
    """Make a person who signed in with the organization's SSO a member.

    Just-in-time provisioning: a first sign-in adds the membership with the
    provider's default role; later sign-ins change nothing. Call inside the
    organization's context.
    """
    existing = Membership.objects.filter(organization=organization, user=user).first()
    if existing is not None:
        return None
    membership = Membership.objects.create(
        organization=organization, user=user, role=role
    )
    logger.info("member joined through SSO", extra={"membership_id": membership.pk})
    return membership


def verify_sso_domain(domain: SSODomain) -> bool:
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
    unlock_sign_in(email)
    logger.info("member's lockout lifted", extra={"membership_id": membership.pk})
    return True
