import logging
import time
import uuid

from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import render

from clozup import selectors, tenancy
from clozup.lib.logging import organization_id_var, request_id_var

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("clozup.access")

SESSION_ORGANIZATION_KEY = "organization_id"


class RequestIdMiddleware:
    """Give every request an id, on its log lines and in the X-Request-ID header,
    and log one access line per request.

    The access line names the route pattern (`leads/<int:pk>/`), never the
    path or query string: those carry searched addresses and unsubscribe
    tokens. It replaces gunicorn's access log, which prints them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = uuid.uuid4().hex
        token = request_id_var.set(request.id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            match = request.resolver_match
            organization = getattr(request, "organization", None)
            organization_token = organization_id_var.set(
                organization.pk if organization is not None else None
            )
            access_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "route": match.route if match else "(no route)",
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000),
                },
            )
            organization_id_var.reset(organization_token)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.id
        return response


class HealthCheckMiddleware:
    """Answer /healthz and /readyz before anything that needs a dependency.

    Sessions, authentication and tenancy read the database for any request
    that carries a session cookie; a liveness probe must answer while the
    database is down, and a readiness probe must report it, not fail on it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from clozup import views

        probe = {"/healthz": views.healthz, "/readyz": views.readyz}.get(request.path)
        if probe is not None:
            return probe(request)
        return self.get_response(request)


class RefuseNulCharactersMiddleware:
    """Answer 400 to a query string holding a NUL character.

    PostgreSQL cannot store or compare text with NUL in it, so a filter such
    as `?q=%00` would fail deep in a query with a server error. Form fields
    already refuse NUL (Django's CharField validator); query strings are read
    by hand in many views, so they are checked once, here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return HttpResponseBadRequest(
                    f"{name.replace(chr(0), '')}: NUL characters are not allowed",
                    content_type="text/plain",
                )
        return self.get_response(request)


class TenancyMiddleware:
    """Serve a signed-in user's request inside their organization's context.

    The whole rest of the request, template rendering included, runs in one
    transaction whose `app.current_org_id` is the organization chosen in the
    session (or the user's first). Unlike ATOMIC_REQUESTS, this also covers
    other middleware and lazy querysets evaluated by templates. A streamed body
    is produced after this returns, so it re-enters the context itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        request.memberships = []
        if not request.user.is_authenticated:
            return self.get_response(request)

        with tenancy.user_context(request.user.pk):
            request.memberships = list(selectors.list_memberships(request.user))
            # An identity provider's token may name the organization (Clerk's
            # active organization); otherwise the session's choice holds.
            preferred = getattr(request, "preferred_organization_id", None)
            membership = selectors.get_current_membership(
                request.memberships,
                preferred or request.session.get(SESSION_ORGANIZATION_KEY),
            )
            if membership is not None:
                tenancy.enter_organization(membership.organization_id)
                request.membership = membership
                request.organization = membership.organization

            response = self.get_response(request)

            # A view that failed must not leave half its writes behind.
            if response.status_code >= 500:
                transaction.set_rollback(True)

        if response.streaming and membership is not None:
            response.streaming_content = _stream_in_context(
                membership.organization_id, response.streaming_content
            )
        return response


def _stream_in_context(organization_id, chunks):
    with tenancy.org_context(organization_id):
        yield from chunks


class SignInPolicyMiddleware:
    """Apply the organization's sign-in rules to every signed-in request.

    Runs inside the tenancy transaction, for the organization the request is
    served in: a session that began before a forced sign-out, outlived the
    organization's absolute lifetime or sat idle past its idle timeout is
    ended; a member of an organization that requires MFA and has no second
    factor reaches nothing but the pages that set one up.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated:
            return self.get_response(request)

        from clozup.signin import policy

        response = policy.enforce(request)
        if response is not None:
            return response
        return self.get_response(request)


class SignInFormActionMiddleware:
    """Let sign-in forms hand over to an identity provider, and nothing else.

    The Content-Security-Policy's form-action also governs where a form's
    redirect may lead. Social, OpenID Connect and SAML sign-in end in a
    redirect to the provider, whose origin may be configured per organization,
    so pages under /accounts/ allow any https target; every other page keeps
    form-action 'self'.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/accounts/"):
            response._csp_update = {"form-action": ["https:"]}
        return response


# Pages that change nothing of the organization's data: a cancelled
# organization's members still sign in and out, manage their own sessions and
# second factors, and move to another organization.
READ_ONLY_ALLOWED_PREFIXES = ("/accounts/",)
READ_ONLY_ALLOWED_URL_NAMES = {"switch-organization", "admin:logout"}


class ReadOnlyOrganizationMiddleware:
    """Refuse every change while the organization is cancelled.

    Reading and exporting go on during the grace period; a view that must
    still accept a POST (reactivation, an export request) is marked with
    `clozup.decorators.allowed_while_read_only`. The services refuse too
    (`clozup.services.ensure_writable`), for commands and tasks.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        organization = getattr(request, "organization", None)
        if organization is None or organization.is_active:
            return None
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return None
        if getattr(view_func, "allowed_while_read_only", False):
            return None
        if request.path.startswith(READ_ONLY_ALLOWED_PREFIXES):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in READ_ONLY_ALLOWED_URL_NAMES:
            return None
        return render(
            request,
            "clozup/read_only.html",
            {"organization": organization},
            status=403,
        )
