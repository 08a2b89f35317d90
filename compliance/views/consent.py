"""An admin records a new lawful basis on a lead or contact."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from clozup.decorators import member_required
from clozup.lib.http import client_ip
from crm.selectors import records as record_selectors

from ..forms import ConsentGrantForm
from ..models.consent import Channel, ConsentAction, ConsentSource
from ..selectors.consent import record_address
from ..services import consent as services

RECORDS = {"lead": record_selectors.get_lead, "contact": record_selectors.get_contact}


@require_POST
@member_required
def record_grant(request, kind: str, pk: int):
    if kind not in RECORDS:
        raise Http404("consent is recorded on leads and contacts")
    if not request.membership.is_admin:
        raise PermissionDenied("only an admin records a new lawful basis")
    record = RECORDS[kind](pk)
    form = ConsentGrantForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(e for field in form.errors.values() for e in field)
        messages.error(request, f"Consent not recorded: {errors}")
        return redirect(f"crm:{kind}-detail", pk)

    channel = form.cleaned_data["channel"]
    lookup = Channel.PHONE if channel == Channel.SMS else channel
    try:
        services.record_consent_event(
            request.organization,
            address=record_address(record, lookup),
            channel=channel,
            purpose=form.cleaned_data["purpose"],
            action=ConsentAction.GRANT,
            source=ConsentSource.ADMIN,
            lawful_basis=form.cleaned_data["lawful_basis"],
            evidence={
                "text_shown": form.cleaned_data["text_shown"],
                "ip": client_ip(request) or "",
                "user_agent": request.META.get("HTTP_USER_AGENT", ""),
            },
            actor=request.user,
            **{kind: record},
        )
    except services.InvalidConsentEvent as error:
        messages.error(request, f"Consent not recorded: {error}")
    else:
        messages.success(request, "New lawful basis recorded.")
    return redirect(f"crm:{kind}-detail", pk)
