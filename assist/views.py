"""AI assist on a lead, contact or deal page, all as htmx partials.

The panel asks for an answer; the answer comes back in an editable form; the
rep then keeps it as a note or turns it into an email draft (kept as an
email activity, or opened in their own mail app). Nothing is stored before
the rep's "Save".
"""

from urllib.parse import quote

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from assist import forms, selectors, services
from assist.models import Feature
from clozup.decorators import member_required
from crm.models import Activity, Deal
from crm.services import activities as activity_services
from crm.views.work import SUBJECT_KINDS

SUBJECTS = {
    Feature.SUMMARY: "Timeline summary",
    Feature.FOLLOW_UP: "Follow-up",
}


def _subject(plural: str, pk: int):
    kind = SUBJECT_KINDS.get(plural)
    if kind is None:
        raise Http404("no such record kind")
    record = kind.get(pk)
    if record.deleted_at is not None:
        raise Http404("AI assist serves live records only")
    return kind, record


def _partial(
    request, template: str, context: dict, full_page: str = "assist/page.html"
):
    if request.htmx:
        return render(request, template, context)
    return render(request, full_page, {**context, "partial": template})


@require_GET
@member_required
def panel(request, plural: str, pk: int):
    kind, record = _subject(plural, pk)
    assist_settings = selectors.get_settings()
    features = [
        feature
        for feature in Feature
        if assist_settings is not None and assist_settings.is_enabled(feature)
    ]
    if not features:
        return HttpResponse("")
    return render(
        request,
        "assist/_panel.html",
        {"kind": kind, "record": record, "features": features},
    )


@never_cache
@require_POST
@member_required
def ask(request, plural: str, pk: int):
    kind, record = _subject(plural, pk)
    form = forms.AskForm(request.POST)
    if not form.is_valid():
        return HttpResponse("feature: not an AI assist feature", status=400)
    feature = form.cleaned_data["feature"]
    context = {"kind": kind, "record": record}
    try:
        answer = services.ask_assist(
            record, actor=request.user, feature=feature, request=request
        )
    except services.AssistUnavailable as refusal:
        # A 200, so the refusal and its audit trail commit and htmx shows it.
        context["message"] = refusal.message
        return _partial(request, "assist/_unavailable.html", context)
    context["form"] = forms.AssistedTextForm(
        initial={"subject": SUBJECTS[feature], "body": answer.text}
    )
    return _partial(request, "assist/_answer.html", context)


def _mailto(record, subject: str, body: str) -> str:
    person = record.contact if isinstance(record, Deal) else record
    address = ""
    if person is not None and not selectors.is_excluded_from_ai(person):
        address = person.email
    query = f"subject={quote(subject)}&body={quote(body)}"
    return f"mailto:{quote(address, safe='@')}?{query}"


@never_cache
@require_POST
@member_required
def email_draft(request, plural: str, pk: int):
    kind, record = _subject(plural, pk)
    form = forms.AssistedTextForm(request.POST)
    context = {"kind": kind, "record": record, "form": form}
    if not form.is_valid():
        return _partial(request, "assist/_answer.html", context)
    data = form.cleaned_data
    context["form"] = forms.AssistedTextForm(
        initial={**data, "kind": Activity.Kind.EMAIL}
    )
    context["mailto"] = _mailto(record, data["subject"], data["body"])
    return _partial(request, "assist/_email_draft.html", context)


@never_cache
@require_POST
@member_required
def save(request, plural: str, pk: int):
    kind, record = _subject(plural, pk)
    form = forms.AssistedTextForm(request.POST)
    if not form.is_valid():
        template = (
            "assist/_email_draft.html"
            if request.POST.get("kind") == Activity.Kind.EMAIL
            else "assist/_answer.html"
        )
        context = {"kind": kind, "record": record, "form": form}
        return _partial(request, template, context)
    activity = activity_services.log_activity(
        record,
        actor=request.user,
        request=request,
        ai_generated=True,
        **form.cleaned_data,
    )
    if request.htmx:
        return render(
            request,
            "assist/_saved.html",
            {"kind": kind, "record": record, "activity": activity},
        )
    messages.success(request, "Saved to the timeline, labelled AI-generated.")
    return redirect(kind.url("detail", record.pk))
