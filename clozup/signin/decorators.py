"""Re-authentication for sensitive actions, for any app to use.

Exports, erasure, role changes and security settings call these: when the
person last proved who they are (signed in or re-authenticated) longer ago
than `ACCOUNT_REAUTHENTICATION_TIMEOUT`, they are asked to do so again, and a
suspended POST is replayed afterwards (allauth's re-authentication flow).
With Clerk, the age of the session's last first-factor check decides, and the
person is sent to Clerk to sign in again.
"""

import functools
import time

from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.exceptions import ImmediateHttpResponse, ReauthenticationRequired
from django.conf import settings
from django.shortcuts import redirect

from clozup.signin import clerk, services


def last_authenticated_at(request) -> float | None:
    """When the request's user last signed in or re-authenticated, if known."""
    if clerk.is_enabled():
        from clozup.signin.clerk import policy as clerk_policy

        return clerk_policy.first_factor_at(request)
    moments = [request.session.get(services.AUTHENTICATED_AT) or 0]
    records = get_authentication_records(request, request.user)
    moments.extend(record.get("at", 0) for record in records)
    latest = max(moments)
    return latest or None


def is_recently_authenticated(request) -> bool:
    if not request.user.is_authenticated:
        return False
    moment = last_authenticated_at(request)
    timeout = settings.ACCOUNT_REAUTHENTICATION_TIMEOUT
    return moment is not None and time.time() - moment < timeout


def require_recent_authentication(request) -> None:
    """Raise ReauthenticationRequired unless the person proved it recently.

    allauth's middleware turns the exception into its re-authentication page
    (local sign-in); the Clerk middleware sends the person to Clerk.
    """
    if is_recently_authenticated(request):
        return
    if clerk.is_enabled():
        from clozup.signin.clerk import policy as clerk_policy

        raise ImmediateHttpResponse(redirect(clerk_policy.sign_in_url(request)))
    raise ReauthenticationRequired()


def reauthentication_required(view=None, *, allow_get: bool = True):
    """Decorate a view whose changes need a recent authentication.

    With `allow_get`, reading the page is free and only a change asks.
    """

    def decorator(view_func):
        @functools.wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not (allow_get and request.method in ("GET", "HEAD")):
                require_recent_authentication(request)
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator
