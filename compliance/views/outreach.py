"""Campaign pages for reps and admins, and the public unsubscribe page."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from clozup.decorators import member_required
from clozup.lib.http import client_ip
from clozup.models import Organization
from clozup.tenancy import org_context

from .. import forms
from ..selectors import outreach as selectors
from ..services import outreach as services

# What the unsubscribe page tells the person; kept as the consent evidence.
UNSUBSCRIBE_TEXT = (
    "Unsubscribe from marketing email from {organization}. You will receive no"
    " more campaign messages from them at this address."
)


@member_required
def campaign_list(request):
    campaigns = selectors.list_campaigns()[:100]
    return render(request, "compliance/campaigns/list.html", {"campaigns": campaigns})


@member_required
def campaign_create(request):
    form = forms.CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        campaign = services.create_campaign(
            request.organization, actor=request.user, **form.cleaned_data
        )
        return redirect("compliance:campaign-detail", campaign.pk)
    return render(request, "compliance/campaigns/form.html", {"form": form})


def _detail_context(campaign, recipients_form=None) -> dict:
    return {
        "campaign": campaign,
        "counts": selectors.campaign_counts(campaign.pk),
        "recipients_form": recipients_form or forms.RecipientsForm(),
    }


@member_required
def campaign_detail(request, pk: int):
    campaign = selectors.get_campaign(pk)
    return render(
        request, "compliance/campaigns/detail.html", _detail_context(campaign)
    )


@member_required
@require_POST
def campaign_recipients(request, pk: int):
    campaign = selectors.get_campaign(pk)
    form = forms.RecipientsForm(request.POST)
    if not form.is_valid():
        context = _detail_context(campaign, form)
        return render(request, "compliance/campaigns/detail.html", context, status=400)
    try:
        added = services.queue_recipients(campaign, form.leads(), actor=request.user)
    except services.CampaignNotDraft:
        messages.error(request, "Recipients can be added only before sending starts.")
    else:
        messages.success(request, f"{added} recipients added.")
    return redirect("compliance:campaign-detail", campaign.pk)


@member_required
@require_POST
def campaign_start(request, pk: int):
    campaign = selectors.get_campaign(pk)
    try:
        services.start_sending(campaign, actor=request.user)
    except services.NoRecipients:
        messages.error(request, "Add recipients before sending.")
    except services.CampaignNotDraft:
        messages.error(request, "This campaign was already sent or is sending.")
    else:
        messages.success(request, "Sending started.")
    return redirect("compliance:campaign-detail", campaign.pk)


@member_required
def campaign_progress(request, pk: int):
    campaign = selectors.get_campaign(pk)
    response = render(
        request, "compliance/campaigns/_progress.html", _detail_context(campaign)
    )
    if campaign.status == campaign.Status.SENT and request.htmx:
        response["HX-Refresh"] = "true"
    return response


# Link scanners follow GETs: only a POST (the button, or a mail client's
# RFC 8058 one-click request) unsubscribes. Neither carries a CSRF token or a
# session; the signed token is the authority.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        parsed = services.UnsubscribeToken.loads(token)
    except services.BadUnsubscribeToken:
        return render(request, "compliance/unsubscribe_invalid.html", status=400)
    organization = Organization.objects.filter(pk=parsed.organization_id).first()
    if organization is None:
        return render(request, "compliance/unsubscribe_invalid.html", status=400)
    text = UNSUBSCRIBE_TEXT.format(organization=organization.name)

    if request.method == "POST":
        evidence = {
            "ip": client_ip(request) or "",
            "user_agent": request.META.get("HTTP_USER_AGENT", ""),
            "text_shown": text,
        }
        with org_context(organization):
            services.unsubscribe(parsed, evidence=evidence)
        return render(
            request, "compliance/unsubscribed.html", {"organization": organization}
        )
    return render(
        request,
        "compliance/unsubscribe.html",
        {"organization": organization, "text": text},
    )
