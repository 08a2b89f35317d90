import logging

from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.urls import Resolver404, resolve

from clozup.models import Organization, User
from clozup.signin import clerk
from clozup.signin.clerk import tokens

logger = logging.getLogger(__name__)

SESSION_COOKIE = "__session"
# allauth's own pages: under Clerk, Clozup has no password or sign-in forms.
LOCAL_SIGN_IN_PREFIXES = ("account_", "mfa_", "socialaccount_", "saml_", "openid_")


class ClerkAuthenticationMiddleware:
    """Authenticate each request by its Clerk session token, when Clerk is on.

    The token comes from the Authorization header (Bearer) or Clerk's
    `__session` cookie. A valid token's subject is the local user mirroring
    that Clerk user (created by webhooks), and its active organization, when
    it has one, is the organization the request is served in. Anything else
    leaves the request anonymous.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not clerk.is_enabled():
            return self.get_response(request)

        if _is_local_sign_in_page(request):
            raise Http404("Clerk signs people in; this page is off")

        request.user = AnonymousUser()
        request.clerk_claims = None
        token = _token_from(request)
        if token:
            self._authenticate(request, token)
        return self.get_response(request)

    def _authenticate(self, request, token: str) -> None:
        try:
            claims = tokens.verify(token)
        except tokens.InvalidSessionToken as error:
            logger.info("Clerk token refused", extra={"reason": str(error)})
            return
        user = User.objects.filter(clerk_id=claims["sub"], is_active=True).first()
        if user is None:
            logger.info("Clerk token for a user not synced yet")
            return
        request.user = user
        request.clerk_claims = claims
        organization_id = tokens.organization_id(claims)
        if organization_id:
            organization = Organization.objects.filter(clerk_id=organization_id).first()
            request.preferred_organization_id = (
                organization.pk if organization else None
            )


def _token_from(request) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    return request.COOKIES.get(SESSION_COOKIE, "")


def _is_local_sign_in_page(request) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    name = match.url_name or ""
    if match.namespace == "signin":
        return True
    return name.startswith(LOCAL_SIGN_IN_PREFIXES) and name != "account_logout"
