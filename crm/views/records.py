"""List, detail, create, edit, delete and restore pages for the four record kinds.

One set of views serves leads, contacts, companies and deals; a `RecordKind`
names what differs (model, form, selector, templates). Lists answer htmx
requests with their rows only, so search, filters and "more" update in place.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from clozup.decorators import member_required
from clozup.lib.pagination import BadCursor
from compliance.forms import ConsentGrantForm
from crm import forms
from crm.models import Company, Contact, Deal, Lead
from crm.selectors import pipeline as pipeline_selectors
from crm.selectors import records as selectors
from crm.services import records as record_services


@dataclass(frozen=True)
class RecordKind:
    name: str
    plural: str
    model: type
    form: type
    get: object
    has_timeline: bool = True

    def template(self, page: str) -> str:
        return f"crm/{self.plural}/{page}.html"

    def url(self, page: str, *args) -> str:
        return reverse(f"crm:{self.name}-{page}", args=args)


LEADS = RecordKind("lead", "leads", Lead, forms.LeadForm, selectors.get_lead)
CONTACTS = RecordKind(
    "contact", "contacts", Contact, forms.ContactForm, selectors.get_contact
)
COMPANIES = RecordKind(
    "company",
    "companies",
    Company,
    forms.CompanyForm,
    selectors.get_company,
    has_timeline=False,
)
DEALS = RecordKind("deal", "deals", Deal, forms.DealForm, selectors.get_deal)
KINDS = (LEADS, CONTACTS, COMPANIES, DEALS)


def _cursor(request) -> str:
    return request.GET.get("cursor", "")


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _list_page(request, kind: RecordKind):
    deleted = request.GET.get("deleted") == "1"
    q = request.GET.get("q", "").strip()[:100]
    context = {"kind": kind, "q": q, "deleted": deleted}
    try:
        if kind is LEADS:
            filters = selectors.LeadFilters(
                q=q,
                status=request.GET.get("status", ""),
                owner=_int_or_none(request.GET.get("owner")),
                source=request.GET.get("source", ""),
                sort=request.GET.get("sort", "recent"),
                deleted=deleted,
            )
            page = selectors.list_leads(filters, cursor=_cursor(request))
            context.update(filters=filters, statuses=Lead.Status.choices)
            if not request.htmx:
                context.update(
                    owners=selectors.list_owners(),
                    sources=selectors.list_lead_sources(),
                )
        elif kind is CONTACTS:
            page = selectors.list_contacts(
                q=q, deleted=deleted, cursor=_cursor(request)
            )
        elif kind is COMPANIES:
            page = selectors.list_companies(
                q=q, deleted=deleted, cursor=_cursor(request)
            )
        else:
            stage = _int_or_none(request.GET.get("stage"))
            owner = _int_or_none(request.GET.get("owner"))
            page = selectors.list_deals(
                q=q, stage=stage, owner=owner, deleted=deleted, cursor=_cursor(request)
            )
            context.update(stage=stage, owner=owner)
            if not request.htmx:
                context.update(
                    stages=pipeline_selectors.list_stages(),
                    owners=selectors.list_owners(),
                )
    except BadCursor:
        raise Http404("no such page") from None
    context["page"] = page
    query = request.GET.copy()
    query.pop("cursor", None)
    context["query"] = query.urlencode()
    if request.htmx and request.htmx.target != "main":
        return render(request, kind.template("_rows"), context)
    return render(request, kind.template("list"), context)


def _detail_context(request, kind, record) -> dict:
    context = {
        "kind": kind,
        "record": record,
        kind.name: record,
        "can_delete": selectors.can_delete(request.membership, record),
    }
    if kind.has_timeline:
        context.update(
            timeline=selectors.list_timeline(record),
            files=selectors.list_files(record),
            activity_form=forms.ActivityForm(),
            upload_form=forms.UploadForm(),
        )
    if kind in (LEADS, CONTACTS):
        context["consent"] = selectors.consent_status(record)
        context["consent_kind"] = kind.name
        context["grant_form"] = ConsentGrantForm()
    if kind is LEADS:
        context["status_form"] = forms.LeadStatusForm(initial={"status": record.status})
    if kind is COMPANIES:
        context.update(selectors.list_company_people(record))
    if kind is DEALS:
        context["stages"] = pipeline_selectors.list_stages()
    return context


def _form_kwargs(request):
    return {"organization": request.organization}


def _save_company_name(form, record, request):
    if isinstance(form, forms.CompanyNameMixin):
        record_services.link_company_by_name(
            record,
            form.cleaned_data.get("company_name", ""),
            actor=request.user,
            request=request,
        )


def _warn_if_flagged(request, kind: RecordKind, record) -> None:
    # A person who was erased or unsubscribed may come back by hand: the
    # record keeps the ledger's flag, and whoever entered them is told.
    if kind not in (LEADS, CONTACTS):
        return
    states = selectors.consent_status(record).values()
    if any(not state.can_contact for state in states):
        messages.warning(
            request,
            "This address unsubscribed or was erased before: it stays out of"
            " outreach until an admin records a new lawful basis.",
        )


def make_views(kind: RecordKind):
    @member_required
    def list_view(request):
        return _list_page(request, kind)

    @member_required
    def create_view(request):
        form = kind.form(request.POST or None, **_form_kwargs(request))
        if request.method == "POST" and form.is_valid():
            record = record_services.create_record(
                form,
                organization=request.organization,
                actor=request.user,
                request=request,
            )
            _save_company_name(form, record, request)
            messages.success(request, f"{kind.name.capitalize()} created.")
            _warn_if_flagged(request, kind, record)
            return redirect(kind.url("detail", record.pk))
        return render(request, "crm/record_form.html", {"kind": kind, "form": form})

    @member_required
    def detail_view(request, pk: int):
        record = kind.get(pk)
        return render(
            request, kind.template("detail"), _detail_context(request, kind, record)
        )

    @member_required
    def edit_view(request, pk: int):
        record = kind.get(pk)
        if record.deleted_at is not None:
            raise Http404("deleted records are restored before they are edited")
        form = kind.form(request.POST or None, instance=record, **_form_kwargs(request))
        if request.method == "POST" and form.is_valid():
            record, _ = record_services.update_record(
                form, actor=request.user, request=request
            )
            _save_company_name(form, record, request)
            messages.success(request, "Changes saved.")
            _warn_if_flagged(request, kind, record)
            return redirect(kind.url("detail", record.pk))
        return render(
            request,
            "crm/record_form.html",
            {"kind": kind, "form": form, "record": record},
        )

    @require_POST
    @member_required
    def delete_view(request, pk: int):
        record = kind.get(pk)
        if not selectors.can_delete(request.membership, record):
            raise PermissionDenied("only its owner or an admin deletes a record")
        record_services.delete_record(record, actor=request.user, request=request)
        messages.success(request, f"{record} was deleted. You can restore it.")
        return redirect(kind.url("detail", record.pk))

    @require_POST
    @member_required
    def restore_view(request, pk: int):
        record = kind.get(pk)
        if not selectors.can_delete(request.membership, record):
            raise PermissionDenied("only its owner or an admin restores a record")
        if record.deleted_at is not None:
            record_services.restore_record(record, actor=request.user, request=request)
            messages.success(request, f"{record} was restored.")
        return redirect(kind.url("detail", record.pk))

    prefix = kind.plural
    return [
        path(f"{prefix}/", list_view, name=f"{kind.name}-list"),
        path(f"{prefix}/new/", create_view, name=f"{kind.name}-create"),
        path(f"{prefix}/<int:pk>/", detail_view, name=f"{kind.name}-detail"),
        path(f"{prefix}/<int:pk>/edit/", edit_view, name=f"{kind.name}-edit"),
        path(f"{prefix}/<int:pk>/delete/", delete_view, name=f"{kind.name}-delete"),
        path(f"{prefix}/<int:pk>/restore/", restore_view, name=f"{kind.name}-restore"),
    ]
