"""The public request page of each organization, and the export download page."""

import logging

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from clozup.decorators import member_required
from clozup.lib import ratelimit
from clozup.lib.http import client_ip
from compliance import forms
from compliance.selectors import requests as selectors
from compliance.selectors.subjects import subject_hash
from compliance.services import exports
from compliance.services import requests as services

logger = logging.getLogger(__name__)

# Per address and organization, and per client IP, across all organizations.
ADDRESS_LIMIT = (3, 24 * 3600)
IP_LIMIT = (10, 3600)


def _within_limits(request, organization, email: str) -> bool:
    by_ip = ratelimit.allow(
        f"dsr-ip:{client_ip(request) or 'unknown'}",
        limit=IP_LIMIT[0],
        period=IP_LIMIT[1],
    )
    by_address = ratelimit.allow(
        f"dsr-address:{organization.pk}:{subject_hash(organization, email)}",
        limit=ADDRESS_LIMIT[0],
        period=ADDRESS_LIMIT[1],
    )
    return by_ip and by_address


@require_http_methods(["GET", "POST"])
def public_request(request, slug):
    organization = selectors.get_public_organization(slug)
    form = forms.PublicRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not _within_limits(request, organization, data["email"]):
            logger.warning("public request refused by rate limit")
            return render(
                request,
                "compliance/request_limited.html",
                {"organization": organization},
                status=429,
            )
        services.send_confirmation_link(
            organization,
            kind=data["kind"],
            email=data["email"],
            details=data["details"],
            build_url=request.build_absolute_uri,
        )
        return render(
            request, "compliance/request_sent.html", {"organization": organization}
        )
    return render(
        request,
        "compliance/request_form.html",
        {"organization": organization, "form": form},
    )


@require_http_methods(["GET", "POST"])
def confirm_request(request, slug, token):
    organization = selectors.get_public_organization(slug)
    try:
        pending = services.read_confirmation(organization, token)
    except services.ConfirmationInvalid:
        return render(
            request,
            "compliance/request_invalid.html",
            {"organization": organization},
            status=400,
        )
    if request.method == "POST" or pending["request"] is not None:
        dsr = services.confirm_public_request(organization, token)
        return render(
            request,
            "compliance/request_done.html",
            {"organization": organization, "dsr": dsr},
        )
    return render(
        request,
        "compliance/request_confirm.html",
        {"organization": organization, "kind": pending["kind"]},
    )


@member_required
@require_http_methods(["GET", "POST"])
def export_download(request, public_id):
    if not request.membership.is_admin:
        raise Http404("no such export")
    export = get_object_or_404(
        selectors.list_exports_of(request.user), public_id=public_id
    )
    if request.method == "POST":
        try:
            return exports.claim_download(public_id, user=request.user, request=request)
        except exports.ExportUnavailable:
            raise Http404("the export is no longer available") from None
    return render(request, "compliance/export_download.html", {"export": export})
