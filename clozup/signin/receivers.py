"""Receivers for the sign-in events Django, allauth and axes announce.

These libraries report sign-ins, failures, lockouts and MFA changes only as
signals; each receiver hands the event to a service.
"""

import logging

from allauth.account.signals import user_logged_in as allauth_user_logged_in
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from clozup.signin import selectors, services
from clozup.tenancy import org_context

logger = logging.getLogger(__name__)


@receiver(user_logged_in, dispatch_uid="signin.start_session")
def start_session(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        services.start_session(request)


@receiver(allauth_user_logged_in, dispatch_uid="signin.join_through_sso")
def join_through_sso(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is None:
        return
    sso = selectors.find_sso_for_provider(sociallogin.account.provider, None)
    if sso is None:
        return
    with org_context(sso.organization):
        services.join_through_sso(
            user, sso.organization, role=sso.provider.default_role
        )
