"""Receivers for the sign-in events Django, allauth and axes announce.

These libraries report sign-ins, failures, lockouts and MFA changes only as
signals; each receiver hands the event to a service, which records it.
"""

import logging

from allauth.account import signals as account_signals
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa import signals as mfa_signals
from axes.signals import user_locked_out
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from clozup.signin import selectors, services
from clozup.signin.lockout import username_from_credentials
from clozup.tenancy import org_context

logger = logging.getLogger(__name__)


@receiver(auth_signals.user_logged_in, dispatch_uid="signin.start_session")
def start_session(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        services.start_session(request)


@receiver(account_signals.user_logged_in, dispatch_uid="signin.signed_in")
def signed_in(sender, request, user, sociallogin=None, **kwargs):
    records = get_authentication_records(request, user)
    methods = [record["method"] for record in records]
    if request.POST.get("via") == "link":
        methods = ["link" if method == "code" else method for method in methods]
    provider = sociallogin.account.provider if sociallogin is not None else ""

    if sociallogin is not None:
        sso = selectors.find_sso_for_provider(provider, None)
        if sso is not None:
            with org_context(sso.organization):
                services.join_through_sso(
                    user,
                    sso.organization,
                    role=sso.provider.default_role,
                    request=request,
                )
    services.record_sign_in(request, user, methods=methods, provider=provider)


@receiver(auth_signals.user_login_failed, dispatch_uid="signin.password_failed")
def password_failed(sender, credentials, request=None, **kwargs):
    if request is None or getattr(request, "axes_locked_out", False):
        return
    email = username_from_credentials(request, credentials)
    services.record_sign_in_failure(request, email or "", step="password")


@receiver(account_signals.login_code_rejected, dispatch_uid="signin.code_failed")
def code_failed(sender, request, user, **kwargs):
    services.record_sign_in_failure(request, user.email, step="code")


@receiver(mfa_signals.authentication_failed, dispatch_uid="signin.mfa_failed")
def second_factor_failed(sender, request, user, **kwargs):
    services.record_sign_in_failure(request, user.email, step="mfa")


@receiver(user_locked_out, dispatch_uid="signin.locked_out")
def locked_out(sender, request, username, ip_address, **kwargs):
    services.record_lockout(request, username or "")


@receiver(mfa_signals.authenticator_added, dispatch_uid="signin.mfa_added")
def second_factor_added(sender, request, user, authenticator, **kwargs):
    services.record_mfa_change(request, user, authenticator, added=True)


@receiver(mfa_signals.authenticator_removed, dispatch_uid="signin.mfa_removed")
def second_factor_removed(sender, request, user, authenticator, **kwargs):
    services.record_mfa_change(request, user, authenticator, added=False)


@receiver(account_signals.password_changed, dispatch_uid="signin.password_changed")
def password_changed(sender, request, user, **kwargs):
    services.record_password_change(request, user, how="changed")


@receiver(account_signals.password_set, dispatch_uid="signin.password_set")
def password_set(sender, request, user, **kwargs):
    services.record_password_change(request, user, how="set")


@receiver(account_signals.password_reset, dispatch_uid="signin.password_reset")
def password_reset(sender, request, user, **kwargs):
    services.record_password_change(request, user, how="reset")


@receiver(
    account_signals.authentication_step_completed, dispatch_uid="signin.reauthenticated"
)
def reauthenticated(sender, request, user, method, **kwargs):
    if kwargs.get("reauthenticated"):
        services.record_reauthentication(request, user, method=method)


@receiver(auth_signals.user_logged_out, dispatch_uid="signin.signed_out")
def signed_out(sender, request, user, **kwargs):
    # Sessions the policy ends are recorded as ended, with their reason.
    if user is None or getattr(request, "signin_policy_logout", False):
        return
    services.record_sign_out(request, user)
