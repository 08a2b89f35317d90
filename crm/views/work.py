"""Pages beside the record lists: home, board, forecast, timeline, files."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clozup.decorators import member_required
from clozup.lib.redirects import next_url
from crm import forms
from crm.selectors import pipeline as pipeline_selectors
from crm.selectors import records as selectors
from crm.services import activities as activity_services
from crm.services import deals as deal_services
from crm.services import files as file_services
from crm.services import leads as lead_services
from crm.views.records import CONTACTS, DEALS, LEADS, _int_or_none

SUBJECT_KINDS = {kind.plural: kind for kind in (LEADS, CONTACTS, DEALS)}


@member_required
def home(request):
    return render(
        request, "crm/home.html", {"home": pipeline_selectors.home_for(request.user)}
    )


@member_required
def board(request):
    owner = _int_or_none(request.GET.get("owner"))
    context = {
        "columns": pipeline_selectors.pipeline_board(owner=owner),
        "owner": owner,
        "owners": selectors.list_owners(),
    }
    return render(request, "crm/deals/board.html", context)


@require_POST
@member_required
def move_deal(request, pk: int):
    deal = selectors.get_deal(pk)
    form = forms.MoveDealForm(request.POST)
    if not form.is_valid() or deal.deleted_at is not None:
        return HttpResponse("stage: choose a stage of your pipeline", status=400)
    deal_services.move_deal(
        deal, form.cleaned_data["stage"], actor=request.user, request=request
    )
    if request.htmx:
        owner = _int_or_none(request.POST.get("owner"))
        context = {
            "columns": pipeline_selectors.pipeline_board(owner=owner),
            "owner": owner,
            "moved": deal.pk,
        }
        return render(request, "crm/deals/_board.html", context)
    messages.success(request, f"{deal} moved to {deal.stage}.")
    return redirect(next_url(request, DEALS.url("detail", deal.pk)))


@member_required
def forecast(request):
    return render(
        request, "crm/forecast.html", {"forecast": pipeline_selectors.forecast()}
    )


@require_POST
@member_required
def set_lead_status(request, pk: int):
    lead = selectors.get_lead(pk)
    form = forms.LeadStatusForm(request.POST)
    if not form.is_valid() or lead.deleted_at is not None:
        return HttpResponse("status: not a lead status", status=400)
    lead_services.set_lead_status(
        lead, form.cleaned_data["status"], actor=request.user, request=request
    )
    if request.htmx:
        return render(
            request,
            "crm/leads/_row.html",
            {"lead": lead, "statuses": forms.Lead.Status.choices},
        )
    return redirect(LEADS.url("detail", lead.pk))


@member_required
def convert_lead(request, pk: int):
    lead = selectors.get_lead(pk)
    if lead.deleted_at is not None or lead.converted_at is not None:
        raise Http404("only a live, unconverted lead converts")
    initial = {"deal_title": lead.company_name or str(lead)}
    form = forms.ConvertLeadForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        conversion = lead_services.convert_lead(
            lead, actor=request.user, request=request, **form.cleaned_data
        )
        messages.success(request, "Lead converted.")
        if conversion.deal:
            return redirect(DEALS.url("detail", conversion.deal.pk))
        return redirect(CONTACTS.url("detail", conversion.contact.pk))
    return render(request, "crm/leads/convert.html", {"lead": lead, "form": form})


def _subject(plural: str, pk: int):
    kind = SUBJECT_KINDS.get(plural)
    if kind is None:
        raise Http404("no such record kind")
    record = kind.get(pk)
    if record.deleted_at is not None:
        raise Http404("deleted records take no new activities or files")
    return kind, record


@require_POST
@member_required
def log_activity(request, plural: str, pk: int):
    kind, record = _subject(plural, pk)
    form = forms.ActivityForm(request.POST)
    if form.is_valid():
        activity = activity_services.log_activity(
            record, actor=request.user, request=request, **form.cleaned_data
        )
        if request.htmx:
            return render(
                request,
                "crm/_activity_logged.html",
                {
                    "activity": activity,
                    "activity_form": forms.ActivityForm(),
                    "record": record,
                    "kind": kind,
                },
            )
        messages.success(request, "Logged.")
        return redirect(kind.url("detail", record.pk))
    template = "crm/_activity_form.html" if request.htmx else "crm/activity_form.html"
    return render(
        request,
        template,
        {"activity_form": form, "record": record, "kind": kind},
    )


@require_POST
@member_required
def complete_task(request, pk: int):
    activity = selectors.get_activity(pk)
    if activity.author_id != request.user.pk and not request.membership.is_admin:
        raise PermissionDenied("a task is completed by its author or an admin")
    if activity.done_at is None:
        activity_services.complete_task(activity, actor=request.user, request=request)
    if request.htmx:
        return HttpResponse("")
    return redirect("crm:home")


@require_POST
@member_required
def upload_file(request, plural: str, pk: int):
    kind, record = _subject(plural, pk)
    form = forms.UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if form.cleaned_data["kind"] == forms.UploadForm.RECORDING:
                file_services.store_recording(
                    record, upload, actor=request.user, request=request
                )
            else:
                file_services.store_attachment(
                    record, upload, actor=request.user, request=request
                )
        except file_services.FileRejected as error:
            form.add_error("file", str(error).removeprefix("file: "))
        else:
            messages.success(request, "File uploaded.")
            return redirect(kind.url("detail", record.pk))
    return render(
        request,
        "crm/upload_form.html",
        {"upload_form": form, "record": record, "kind": kind},
        status=400,
    )


def _download(request, stored):
    response = file_services.download_response(
        stored, actor=request.user, request=request
    )
    response["Cache-Control"] = "private, no-store"
    return response


@member_required
def download_attachment(request, pk: int):
    return _download(request, selectors.get_attachment(pk))


@member_required
def download_recording(request, pk: int):
    return _download(request, selectors.get_recording(pk))
