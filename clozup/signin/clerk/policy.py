"""Organizations' sign-in rules applied to Clerk session tokens.

Clerk's `fva` claim says how many minutes ago the session's first and second
factors were verified; the first tells when the person signed in (or last
re-verified), so forced sign-out, absolute lifetime and re-authentication
work on it. Idle time is tracked per Clerk session id in the cache.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import urlencode

from clozup.signin import services
from clozup.signin.clerk import tokens
from clozup.signin.services import EndReason

logger = logging.getLogger(__name__)

MFA_REQUIRED = "mfa_required"


def first_factor_at(request) -> float | None:
    """When the person last proved their first factor, per the token."""
    claims = getattr(request, "clerk_claims", None)
    if not claims:
        return None
    first, _ = tokens.factor_ages(claims)
    if first is None:
        return None
    return claims["iat"] - first * 60


def has_second_factor(request) -> bool:
    claims = getattr(request, "clerk_claims", None) or {}
    _, second = tokens.factor_ages(claims)
    return second is not None


def expired_reason(request, *, now: float, idle: int, lifetime: int) -> str | None:
    claims = request.clerk_claims
    signed_in_at = first_factor_at(request)
    if signed_in_at is None:
        # Without fva the sign-in time is unknown: only a revocation can
        # refuse it, and then it must.
        if request.user.sessions_revoked_at is not None:
            return EndReason.REVOKED
        signed_in_at = claims["iat"]
    if services.is_revoked(request.user, signed_in_at):
        return EndReason.REVOKED
    if now - signed_in_at > lifetime:
        return EndReason.LIFETIME

    key = f"signin:clerk-seen:{claims.get('sid', claims['sub'])}"
    last_seen = cache.get(key)
    if last_seen is not None and now - last_seen > idle:
        return EndReason.IDLE
    cache.set(key, now, timeout=max(lifetime, idle) + 60)
    return None


def refuse(request, reason: str) -> HttpResponse:
    """Send the person back to Clerk to sign in (or an API caller a 401)."""
    logger.info("Clerk session refused", extra={"end_reason": reason})
    if "Authorization" in request.headers:
        return JsonResponse({"error": "session_refused", "reason": reason}, status=401)
    if reason == MFA_REQUIRED:
        return render(
            request,
            "signin/clerk_mfa_required.html",
            {"organization": request.organization, "sign_in_url": sign_in_url(request)},
            status=403,
        )
    return HttpResponseRedirect(sign_in_url(request))


def sign_in_url(request) -> str:
    query = urlencode({"redirect_url": request.build_absolute_uri()})
    return f"{settings.CLERK_SIGN_IN_URL}?{query}"
