"""What SignInPolicyMiddleware decides for each signed-in request.

A session here is either a Django session (local sign-in) or a Clerk session
token; both tell when the person signed in. The organization whose rules
apply is the one the request is served in, so switching to a stricter
organization applies its limits at once.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from clozup.lib.http import client_ip
from clozup.signin import clerk, selectors, services
from clozup.signin.clerk import policy as clerk_policy
from clozup.signin.services import EndReason

# Where a member who must set up MFA may still go.
MFA_SETUP_URL_NAMES = frozenset(
    {
        "mfa-required",
        "switch-organization",
        "healthz",
        "readyz",
        "account_logout",
        "account_email",
        "account_confirm_email",
        "account_email_verification_sent",
        "account_reauthenticate",
        "account_request_reauthentication_code",
        "account_confirm_reauthentication_code",
        "mfa_index",
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "mfa_list_webauthn",
        "mfa_reauthenticate",
        "mfa_reauthenticate_webauthn",
        "mfa_generate_recovery_codes",
        "mfa_view_recovery_codes",
        "mfa_download_recovery_codes",
    }
)

END_MESSAGES = {
    EndReason.IDLE: "You were signed out after a period without activity.",
    EndReason.LIFETIME: "Your session reached its time limit; please sign in again.",
    EndReason.REVOKED: "Your sessions were ended; please sign in again.",
}


def limits(request) -> tuple[int, int]:
    """(idle timeout, absolute lifetime) in seconds for this request."""
    idle, lifetime = settings.SESSION_IDLE_TIMEOUT, settings.SESSION_COOKIE_AGE
    organization = request.organization
    if organization is not None:
        policy = selectors.get_security_policy(organization)
        request.security_policy = policy
        if policy.idle_timeout_minutes:
            idle = policy.idle_timeout_minutes * 60
        if policy.session_lifetime_hours:
            lifetime = min(lifetime, policy.session_lifetime_hours * 3600)
    return idle, lifetime


def enforce(request) -> HttpResponse | None:
    """A response that replaces the view's, or None to let the request through."""
    now = time.time()
    request.security_policy = None
    idle, lifetime = limits(request)

    if clerk.is_enabled():
        reason = clerk_policy.expired_reason(
            request, now=now, idle=idle, lifetime=lifetime
        )
        if reason is not None:
            return clerk_policy.refuse(request, reason)
        has_mfa = clerk_policy.has_second_factor(request)
    else:
        reason = _expired_reason(request, now=now, idle=idle, lifetime=lifetime)
        if reason is not None:
            services.end_current_session(request, reason=reason)
            return _signed_out(request, reason)
        services.touch_session(request, ip=client_ip(request) or "", now=now)
        has_mfa = None

    if not _must_set_up_mfa(request, has_mfa):
        return None
    if clerk.is_enabled():
        return clerk_policy.refuse(request, clerk_policy.MFA_REQUIRED)
    if not _is_mfa_setup_url(request):
        return _to_mfa_setup(request)
    return None


def _expired_reason(request, *, now: float, idle: int, lifetime: int) -> str | None:
    session = request.session
    signed_in_at = session.get(services.SIGNED_IN_AT)
    if signed_in_at is None:
        # A session from before these rules: its clock starts now, but it
        # does not count as a fresh authentication.
        session[services.SIGNED_IN_AT] = signed_in_at = now
    if services.is_revoked(request.user, signed_in_at):
        return EndReason.REVOKED
    if now - signed_in_at > lifetime:
        return EndReason.LIFETIME
    if now - session.get(services.LAST_SEEN_AT, signed_in_at) > idle:
        return EndReason.IDLE
    return None


def _signed_out(request, reason: str) -> HttpResponse:
    messages.info(request, END_MESSAGES[reason])
    login_url = reverse("account_login")
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = login_url
        return response
    return HttpResponseRedirect(f"{login_url}?next={request.path}")


def _must_set_up_mfa(request, has_mfa: bool | None) -> bool:
    organization = request.organization
    if organization is None or request.security_policy is None:
        return False
    if not selectors.is_mfa_enforced(organization, request.security_policy):
        return False
    if has_mfa is None:
        has_mfa = selectors.has_second_factor(request.user)
    return not has_mfa


def _is_mfa_setup_url(request) -> bool:
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return True
    return (
        match.url_name in MFA_SETUP_URL_NAMES or match.view_name in MFA_SETUP_URL_NAMES
    )


def _to_mfa_setup(request) -> HttpResponse:
    url = reverse("signin:mfa-required")
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
