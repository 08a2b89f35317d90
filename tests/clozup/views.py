"""Views that exist only for tests of the tenancy middleware."""

from django.db import IntegrityError, transaction
from django.http import JsonResponse, StreamingHttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import include, path

from clozup.decorators import member_required
from clozup.lib.storage import encrypted_file_response
from clozup.tenancy import current_organization_id
from crm.models import Lead


@member_required
def leads_rendered_lazily(request):
    # The queryset is evaluated by the template, after this function returned.
    template = engines["django"].from_string(
        "{% for lead in leads %}[{{ lead.pk }}:{{ lead.first_name }}]{% endfor %}"
    )
    return TemplateResponse(request, template, {"leads": Lead.objects.all()})


@member_required
def leads_streamed(request):
    return StreamingHttpResponse(
        f"{lead.pk}\n" for lead in Lead.objects.order_by("pk").iterator()
    )


@member_required
def context_after_savepoint_rollback(request):
    try:
        with transaction.atomic():
            Lead.objects.create(organization=request.organization, first_name="Dup")
            raise IntegrityError("rolled back on purpose")
    except IntegrityError:
        pass
    return JsonResponse(
        {
            "organization_id": current_organization_id(),
            "lead_ids": sorted(Lead.objects.values_list("pk", flat=True)),
        }
    )


@member_required
def download(request, name):
    return encrypted_file_response(name, filename="call.mp3")


urlpatterns = [
    path("t/download/<path:name>", download),
    path("t/lazy/", leads_rendered_lazily),
    path("t/stream/", leads_streamed),
    path("t/savepoint/", context_after_savepoint_rollback),
    path("", include("clozup.urls")),
]
