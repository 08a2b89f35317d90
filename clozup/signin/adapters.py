"""django-allauth adapters: where allauth asks Clozup for its rules.

The account adapter gives allauth the client IP from trusted proxies only,
adds the magic link to sign-in code emails and refuses any sign-in that
bypasses an organization's single sign-on. The social account adapter turns
each Enterprise organization's identity provider into an allauth app, and
checks that a provider speaks only for the email domains its organization
verified. The MFA adapter seals TOTP secrets with the key ring and keeps
members of an organization that requires MFA from removing their last
authenticator.
"""

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from clozup.lib import keyring
from clozup.lib.http import client_ip
from clozup.signin import clerk, selectors

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client address")
        return ip

    def is_open_for_signup(self, request) -> bool:
        return not clerk.is_enabled()

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # The sign-in code email also carries the code as a link; it signs in
        # only in the browser whose session holds the pending code.
        if template_prefix == "account/email/login_code" and not context.get(
            "reauthentication"
        ):
            path = reverse("signin:magic-link", args=[context["code"]])
            context = {**context, "link": settings.SITE_URL.rstrip("/") + path}
        super().send_mail(template_prefix, email, context)

    def is_reauthentication_required(self, *, app, **kwargs) -> bool:
        """A fresh sign-in counts as well as an explicit re-authentication."""
        from clozup.signin.decorators import is_recently_authenticated

        return not is_recently_authenticated(self.request)

    def pre_login(self, request, user, **kwargs):
        response = super().pre_login(request, user, **kwargs)
        if response is not None:
            return response

        sso = selectors.get_sso_for_email(user.email)
        if sso is not None and not _came_through(request, user, sso):
            logger.info("sign-in refused: the domain signs in through SSO")
            return render(
                request,
                "signin/sso_required.html",
                {"sso_url": sso.login_url, "organization": sso.organization},
                status=403,
            )
        return None


def _came_through(request, user, sso) -> bool:
    records = get_authentication_records(request, user)
    return any(
        record.get("method") == "socialaccount"
        and record.get("provider") == sso.provider_id
        for record in records
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        """The provider's app, or 404 when it is not configured.

        Google and Microsoft are installed whether or not the environment
        configures them; their sign-in URLs then name a provider that has no
        app, which is a page that does not exist, not a server error.
        """
        from allauth.socialaccount.models import SocialApp

        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404("sign-in provider not configured") from None

    def list_apps(self, request, provider=None, client_id=None):
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        sso = selectors.find_sso_for_provider(provider, client_id)
        if sso is not None:
            apps.append(sso.build_app())
        return apps

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return not clerk.is_enabled()

    def pre_social_login(self, request, sociallogin) -> None:
        """Refuse an identity provider speaking for a domain it does not own.

        An organization's provider may sign in addresses of its verified
        domains only; any other provider may not sign in an address whose
        domain belongs to an organization's single sign-on.
        """
        provider_id = sociallogin.account.provider
        emails = [address.email for address in sociallogin.email_addresses]
        if sociallogin.user and sociallogin.user.email:
            emails.append(sociallogin.user.email)
        if not emails:
            raise ImmediateHttpResponse(_refusal(request, "no_email"))

        own = selectors.find_sso_for_provider(provider_id, None)
        for email in emails:
            sso = selectors.get_sso_for_email(email)
            if own is not None and (sso is None or sso.provider_id != own.provider_id):
                logger.warning("SSO sign-in refused: address outside verified domains")
                raise ImmediateHttpResponse(_refusal(request, "foreign_domain"))
            if own is None and sso is not None:
                logger.info("social sign-in refused: the domain signs in through SSO")
                raise ImmediateHttpResponse(_refusal(request, "use_sso", sso))


def _refusal(request, reason: str, sso=None):
    context = {"reason": reason}
    if sso is not None:
        context.update(sso_url=sso.login_url, organization=sso.organization)
    return render(request, "signin/sso_refused.html", context, status=403)


# TOTP secrets and recovery-code seeds are credentials: allauth keeps them in
# its global authenticator table, sealed here with Clozup's key ring.
MFA_SECRET_CONTEXT = b"allauth.mfa.authenticator"


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return keyring.seal(text.encode(), context=MFA_SECRET_CONTEXT)

    def decrypt(self, encrypted_text: str) -> str:
        return keyring.unseal(encrypted_text, context=MFA_SECRET_CONTEXT).decode()

    def can_delete_authenticator(self, authenticator) -> bool:
        """A member whose organization requires MFA keeps one second factor."""
        user = authenticator.user
        if not selectors.is_mfa_required_for_user(user):
            return True
        others = selectors.list_second_factors(user).exclude(pk=authenticator.pk)
        return others.exists()
